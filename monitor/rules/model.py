"""The page model: a small linear model beside the rules, for the pages their phrasing misses.

Real clinics rarely write "we offer" next to the word exosome: a treatment page at
`/treatments/exosome/` explains the therapy, its sessions and benefits, and the offer is the page
itself. The model reads what the rules cannot weigh by hand: character n-grams of the page text
around its exosome mentions (any language, any script), the words of the URL and title, the site's
kind when it is known, and the rules' own signals. It answers one question: does this page
advertise exosome products to people? How serious the offer is stays with the rules, which grade
it and give the evidence (monitor/rules/flagger.py).

It is a logistic regression over hashed features (scikit-learn's HashingVectorizer:
stateless, so the shipped file holds weights and no text), trained on the development part of the
real labelled set only (`python -m monitor.rules.train_model`; MODEL_CARD.md says on what, and how
it scores). Loading it needs no network; predicting is deterministic.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np

from monitor.rules.lexicon import Hit

MODEL_PATH = Path(__file__).with_name("page_model.npz")
MODEL_VERSION = 1  # bump with every retrained file: assessments made under another are redone
N_FEATURES = 2**18  # per block (text, context): hashed, so collisions are rare and harmless
TEXT_CHARS = 4000  # what the model reads of a page: its start and the windows around mentions
WINDOW = 600  # characters each side of an exosome mention
HEAD_CHARS = 600
#: What a site can be known to be (from how it was found, or from the person checking a page).
SITE_KINDS = (
    "clinic", "medspa", "salon", "vendor", "broker", "directory", "news", "blog", "research",
    "regulator", "other",
)  # fmt: skip



@functools.cache
def _vectorizers() -> tuple:
    """The text and context hashers, made on first use: scikit-learn loads only when a page
    names a product (most CLI commands never need it)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    text = HashingVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 4),
        n_features=N_FEATURES,
        alternate_sign=False,
        norm="l2",
        lowercase=True,
    )
    context = HashingVectorizer(
        analyzer=str.split,  # the tokens are built whole
        n_features=N_FEATURES,
        alternate_sign=False,
        norm="l2",
        lowercase=False,
    )
    return text, context


_url_word = re.compile(r"[^\W_]+")


def model_text(text: str, products: Sequence[Hit]) -> str:
    """The part of a page the model reads: its head and the text around its exosome mentions,
    bounded (a clinic's 100 KB page costs what its first screen costs)."""
    parts = [text[:HEAD_CHARS]]
    covered = HEAD_CHARS
    for hit in products:
        begin, end = max(covered, hit.start - WINDOW), min(len(text), hit.end + WINDOW)
        if end > begin:
            parts.append(text[begin:end])
            covered = end
        if sum(map(len, parts)) >= TEXT_CHARS:
            break
    return " ".join(parts)[:TEXT_CHARS]


def url_tokens(url: str | None) -> list[str]:
    """Words of a page's address: host labels and path words ("u:treatments", "u:exosome")."""
    if not url:
        return ["u:none"]
    try:
        parts = urlsplit(url)
    except ValueError:
        return ["u:bad"]
    host = (parts.hostname or "").lower()
    labels = [label for label in host.split(".") if label and label != "www"]
    tokens = [f"h:{label}" for label in labels[:-1]] + ([f"tld:{labels[-1]}"] if labels else [])
    path = unquote(parts.path or "").lower()
    words = _url_word.findall(path)
    tokens += [f"u:{word}" for word in words[:20]]
    depth = len([segment for segment in path.split("/") if segment])
    tokens.append(f"depth:{min(depth, 4)}")
    if not words:
        tokens.append("u:home")
    return tokens


def signal_tokens(signals: Mapping[str, int]) -> list[str]:
    """The rules' signals as tokens: "s:route_near", "s:offer=2"..."""
    tokens = []
    for name, value in signals.items():
        if value:
            tokens.append(f"s:{name}")
            tokens.append(f"s:{name}={min(value, 3)}")
    return tokens


def context_document(
    url: str | None,
    title: str | None,
    site_kind: str | None,
    signals: Mapping[str, int],
    rules: tuple[str, str],
) -> str:
    """The page's context as one string of tokens: its address, title and site kind, the
    lexicon's signals, and the rules' verdict (severity, reason)."""
    tokens = url_tokens(url)
    if title:
        tokens += [f"t:{word}" for word in _url_word.findall(title.lower())[:20]]
    tokens.append(f"k:{site_kind or 'unknown'}")
    tokens += signal_tokens(signals)
    severity, reason = rules
    tokens.append(f"r:{severity}")
    tokens.append("r:" + "_".join(_url_word.findall(reason.lower())[:6]))
    return " ".join(tokens)


def features(texts: Sequence[str], contexts: Sequence[str]):
    """One row a page (a SciPy CSR matrix): the text block, then the context block."""
    from scipy import sparse

    text, context = _vectorizers()
    return sparse.hstack([text.transform(texts), context.transform(contexts)], format="csr")


@dataclass(frozen=True)
class PageModel:
    """Weights of a logistic regression: P(the page advertises exosome products to people)."""

    weights: np.ndarray  # (2 * N_FEATURES,), mostly zeros
    intercept: float
    version: int

    def probability(self, text: str, context: str) -> float:
        score = float((features([text], [context]) @ self.weights)[0]) + self.intercept
        return 1.0 / (1.0 + math.exp(-score))

    def save(self, path: Path) -> None:
        """Only numbers: the hashed indices that carry a weight, the weights, the intercept."""
        (index,) = np.nonzero(self.weights)
        np.savez_compressed(
            path,
            index=index.astype(np.int32),
            weight=self.weights[index].astype(np.float32),
            intercept=np.array([self.intercept]),
            version=np.array([self.version]),
        )


@functools.lru_cache(maxsize=2)
def load_model(path: str | None = None) -> PageModel:
    """The shipped model (or the file at `path`); no pickle, so a file cannot run code."""
    with np.load(Path(path) if path else MODEL_PATH, allow_pickle=False) as data:
        weights = np.zeros(2 * N_FEATURES, dtype=np.float64)
        weights[data["index"]] = data["weight"]
        return PageModel(weights, float(data["intercept"][0]), int(data["version"][0]))
