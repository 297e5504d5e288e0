"""Turn a Digest into an e-mail's subject, text and HTML. Jinja2 with autoescape: every text in a
digest came from a crawled page or a feed, so it is hostile; links are only kept when http(s)."""

from __future__ import annotations

import re

from jinja2 import Environment, PackageLoader, select_autoescape

from alerts.digest import SECTIONS, Digest

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")

_ENV = Environment(
    loader=PackageLoader("alerts", "templates"),
    # HTML templates escape everything (crawled text is hostile); the plain-text one must not, or a
    # reader would see "&lt;" for "<"; its values still lose control characters (`plain`)
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True, default=False),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["plain"] = lambda value: _CONTROL.sub("", str(value or ""))
_ENV.filters["safe_url"] = lambda value: (
    value if isinstance(value, str) and value.lower().startswith(("http://", "https://")) else None
)


#: How the subject line counts each section: (one, several).
_SUBJECT_WORDS = {
    "letters": ("FDA warning letter", "FDA warning letters"),
    "notices": ("FDA safety notice", "FDA safety notices"),
    "flags": ("clinic flagged", "clinics flagged"),
}


#: How the subject line counts source health, by event kind.
_SOURCE_WORDS = {
    "source.failing": ("source failing", "sources failing"),
    "source.partial": ("source partly read", "sources partly read"),
    "source.recovered": ("source recovered", "sources recovered"),
}


def subject(digest: Digest) -> str:
    counts = digest.counts()
    parts = []
    for key, _ in SECTIONS:
        if key == "sources":
            kinds = [item.kind for item in digest.sections.get(key, ())]
            for kind, words in _SOURCE_WORDS.items():
                if kinds.count(kind):
                    parts.append(f"{kinds.count(kind)} {words[kinds.count(kind) != 1]}")
        elif counts[key]:
            parts.append(f"{counts[key]} {_SUBJECT_WORDS[key][counts[key] != 1]}")
    line = f"exowatch {digest.channel}: " + ", ".join(parts)
    return " ".join(_CONTROL.sub(" ", line).split())  # one line: a header cannot be split


def render_text(digest: Digest) -> str:
    return _ENV.get_template("digest.txt.j2").render(digest=digest, sections=SECTIONS)


def render_html(digest: Digest) -> str:
    return _ENV.get_template("digest.html.j2").render(digest=digest, sections=SECTIONS)
