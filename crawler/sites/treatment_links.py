"""Which links on a clinic's site lead to what it sells: treatments, services, prices.

A link is followed when its URL path or its anchor text holds one of TREATMENT_WORDS: word stems
for Latin-script languages (English, Spanish, Turkish...) matched at the start of a word, and
words of scripts written without spaces (Korean) matched anywhere. Short words (IV, PRP) must be
whole words: "private" is not an IV drip. The list is data: extend it with the lexicon's languages.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import unquote, urlsplit

#: Stems matched at the start of a word (Latin scripts), case-folded.
STEMS = (
    # English
    "servic", "treatment", "therap", "pricing", "price", "menu", "offer", "hair", "skin", "facial",
    "regenerat", "stem cell", "exosom", "drip", "inject", "anti aging", "antiaging", "anti ageing",
    "rejuven", "microneedl",
    # Spanish
    "servicio", "tratamiento", "precio", "célula", "celula", "terapia", "facial", "cabello", "piel",
    # Turkish
    "hizmet", "tedavi", "fiyat", "eksozom", "kök hücre", "cilt",
)  # fmt: skip
#: Whole words only.
WORDS = frozenset({"iv", "prp", "sac"})
#: Matched anywhere (scripts without word spaces).
ANYWHERE = ("시술", "가격", "엑소좀", "줄기세포", "피부", "탈모")

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Links that name a service without selling one.
_NOT_TREATMENTS = re.compile(
    r"terms of service|terms-of-service|customer service|service terms|servicio al cliente"
)


@lru_cache(maxsize=65536)  # a site's menu repeats on each of its pages
def is_treatment_link(url: str, anchor: str | None) -> bool:
    """Whether a link's path or anchor text suggests treatments or prices."""
    path = unquote(urlsplit(url).path)
    return _matches(path) or _matches(anchor or "")


def _matches(text: str) -> bool:
    if not text:
        return False
    folded = text.casefold()
    if any(word in folded for word in ANYWHERE):
        return True
    if _NOT_TREATMENTS.search(folded):
        return False
    tokens = _WORD.findall(_fold(folded))
    if not tokens:
        return False
    if WORDS.intersection(tokens):
        return True
    joined = " " + " ".join(tokens) + " "
    return any(f" {stem}" in joined for stem in _FOLDED_STEMS)


def _fold(text: str) -> str:
    """Accents off after casefold ("FİYATLAR" -> "fiyatlar", "célula" -> "celula"); composed
    scripts such as Hangul are matched before this, on the text as it is."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_FOLDED_STEMS = tuple(dict.fromkeys(_fold(stem) for stem in STEMS))
