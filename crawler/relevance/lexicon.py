"""Load and validate the relevance lexicon (lexicon.toml) into frozen dataclasses, once.

Validation is strict because the lexicon decides what gets published about a real business: an
unknown key (a typo such as `sorce`), a missing or empty `source`, a phrase that cannot match
as a whole word, a duplicate phrase (after folding: case, hyphens and spaces), an unknown tag in
`implies` or `unrelated.tags`, each is a LexiconError naming the file and the entry.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from crawler.relevance.normalize import fold_phrase, straighten

DEFAULT_PATH = Path(__file__).with_name("lexicon.toml")
REQUIRED_TAGS = ("exosome", "stem_cell", "hct_p", "regenerative")
_TAG_NAME = re.compile(r"[a-z][a-z0-9_]*")
_WORD = re.compile(r"[^\W_]+")

Cue = tuple[str, ...]  # a cue phrase as a sequence of folded words


class LexiconError(ValueError):
    """The lexicon file is malformed; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One lexicon entry: a phrase, its variants, and where the term comes from."""

    tag: str
    phrase: str
    variants: tuple[str, ...]
    source: str
    case_sensitive: bool = False
    note: str = ""

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.phrase, *self.variants)


@dataclass(frozen=True, slots=True)
class TagSpec:
    name: str
    description: str
    implies: tuple[str, ...]
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Negation:
    before: tuple[Cue, ...]
    pseudo: tuple[Cue, ...]
    terminators: frozenset[str]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    window_tokens: int
    source: str


@dataclass(frozen=True, slots=True)
class UnrelatedContext:
    name: str
    tags: frozenset[str]
    before: tuple[Cue, ...]
    after: tuple[Cue, ...]
    window_before: int
    window_after: int
    source: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ProductRules:
    cues: tuple[str, ...]
    company_before: tuple[str, ...]
    company_after: tuple[str, ...]
    not_names: frozenset[str]
    max_words: int
    source: str


@dataclass(frozen=True, slots=True)
class Lexicon:
    version: int
    tags: tuple[TagSpec, ...]
    negation: Negation
    unrelated: tuple[UnrelatedContext, ...]
    products: ProductRules
    path: str

    def tag(self, name: str) -> TagSpec:
        for spec in self.tags:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(entry for spec in self.tags for entry in spec.entries)


def cue_words(text: str) -> Cue:
    """A cue phrase or a text window as folded words ("n't" counts as "not")."""
    folded = straighten(text.casefold()).replace("n't", " not")
    return tuple(_WORD.findall(folded))


class _Table:
    """A TOML table being read: typed getters, and an error for every key nobody asked for."""

    def __init__(self, data: object, where: str, path: str) -> None:
        self.where = where
        self.path = path
        if not isinstance(data, dict):
            raise self.error(f"must be a table, not {type(data).__name__}")
        self.data = data
        self.seen: set[str] = set()

    def error(self, message: str) -> LexiconError:
        return LexiconError(f"{self.path}: {self.where}: {message}")

    def get(self, key: str, kind: type, default: object = ...) -> object:
        self.seen.add(key)
        if key not in self.data:
            if default is ...:
                raise self.error(f"missing {key!r}")
            return default
        value = self.data[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise self.error(f"{key!r} must be {kind.__name__}, not {type(value).__name__}")
        return value

    def text(self, key: str, default: object = ...) -> str:
        value = self.get(key, str, default)
        if value is not default and not str(value).strip():
            raise self.error(f"{key!r} is empty")
        return value  # type: ignore[return-value]

    def texts(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        for value in values:  # type: ignore[union-attr]
            if not isinstance(value, str) or not value.strip():
                raise self.error(f"{key!r} must hold non-empty strings, found {value!r}")
        return tuple(values)  # type: ignore[arg-type]

    def cues(self, key: str) -> tuple[Cue, ...]:
        cues = tuple(cue_words(value) for value in self.texts(key))
        for value, cue in zip(self.texts(key), cues, strict=True):
            if not cue:
                raise self.error(f"{key!r}: {value!r} has no words")
        return cues

    def count(self, key: str, default: object = ...) -> int:
        value = self.get(key, int, default)
        if value < 0:  # type: ignore[operator]
            raise self.error(f"{key!r} must not be negative")
        return value  # type: ignore[return-value]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.error(f"unknown key {unknown[0]!r}")


def _entry(tag: str, index: int, data: object, path: str) -> Entry:
    label = data.get("phrase") if isinstance(data, dict) else None
    where = f"tags.{tag}.entries[{index}]" + (f" ({label!r})" if isinstance(label, str) else "")
    table = _Table(data, where, path)
    entry = Entry(
        tag=tag,
        phrase=table.text("phrase"),
        variants=table.texts("variants"),
        source=table.text("source"),
        case_sensitive=table.get("case_sensitive", bool, False),  # type: ignore[arg-type]
        note=table.text("note", ""),
    )
    table.done()
    for form in entry.forms:
        folded = fold_phrase(form, casefold=not entry.case_sensitive)
        if not (folded[:1].isalnum() and folded[-1:].isalnum()):
            raise table.error(f"phrase {form!r} must begin and end with a letter or digit")
    return entry


def _tag(name: str, data: object, path: str) -> TagSpec:
    table = _Table(data, f"tags.{name}", path)
    if not _TAG_NAME.fullmatch(name):
        raise table.error("a tag name is lowercase letters, digits and '_'")
    description = table.text("description")
    implies = table.texts("implies")
    raw_entries = table.get("entries", list)
    table.done()
    entries = tuple(_entry(name, i, item, path) for i, item in enumerate(raw_entries))  # type: ignore[arg-type]
    if not entries:
        raise table.error("has no entries")
    return TagSpec(name, description, implies, entries)


def _negation(data: object, path: str) -> Negation:
    table = _Table(data, "negation", path)
    negation = Negation(
        before=table.cues("before"),
        pseudo=table.cues("pseudo"),
        terminators=frozenset(word for cue in table.cues("terminators") for word in cue),
        prefixes=tuple(fold_phrase(value) for value in table.texts("prefixes")),
        suffixes=tuple(fold_phrase(value) for value in table.texts("suffixes")),
        window_tokens=table.count("window_tokens"),
        source=table.text("source"),
    )
    table.done()
    if not negation.before:
        raise table.error("'before' is empty")
    return negation


def _unrelated(index: int, data: object, path: str, tags: set[str]) -> UnrelatedContext:
    label = data.get("name") if isinstance(data, dict) else None
    where = f"unrelated[{index}]" + (f" ({label!r})" if isinstance(label, str) else "")
    table = _Table(data, where, path)
    context = UnrelatedContext(
        name=table.text("name"),
        tags=frozenset(table.texts("tags")),
        before=table.cues("before"),
        after=table.cues("after"),
        window_before=table.count("window_before"),
        window_after=table.count("window_after"),
        source=table.text("source"),
        note=table.text("note", ""),
    )
    table.done()
    if not context.tags:
        raise table.error("'tags' is empty")
    unknown = sorted(context.tags - tags)
    if unknown:
        raise table.error(f"unknown tag {unknown[0]!r}")
    if not (context.before and context.window_before) and not (context.after and context.window_after):
        raise table.error("needs 'before' cues with a window_before, or 'after' cues with a window_after")
    return context


def _products(data: object, path: str) -> ProductRules:
    table = _Table(data, "products", path)
    rules = ProductRules(
        cues=table.texts("cues"),
        company_before=tuple(value.casefold() for value in table.texts("company_before")),
        company_after=tuple(value.casefold() for value in table.texts("company_after")),
        not_names=frozenset(
            form for value in table.texts("not_names") for form in (value, value[:1].upper() + value[1:])
        ),
        max_words=table.count("max_words"),
        source=table.text("source"),
    )
    table.done()
    if rules.max_words < 1:
        raise table.error("'max_words' must be at least 1")
    return rules


def parse_lexicon(data: dict, path: str = "<lexicon>") -> Lexicon:
    """Validate parsed TOML and build the Lexicon. Raises LexiconError naming the entry at fault."""
    root = _Table(data, "top level", path)
    meta = _Table(root.get("lexicon", dict), "lexicon", path)
    version = meta.count("version")
    meta.done()
    raw_tags = root.get("tags", dict)
    tags = tuple(_tag(name, value, path) for name, value in raw_tags.items())  # type: ignore[union-attr]
    names = {spec.name for spec in tags}
    missing = [name for name in REQUIRED_TAGS if name not in names]
    if missing:
        raise LexiconError(f"{path}: tags: missing required tag {missing[0]!r}")
    negation = _negation(root.get("negation", dict), path)
    raw_unrelated = root.get("unrelated", list, [])
    unrelated = tuple(_unrelated(i, item, path, names) for i, item in enumerate(raw_unrelated))  # type: ignore[arg-type]
    products = _products(root.get("products", dict), path)
    root.done()
    for spec in tags:
        for target in spec.implies:
            if target not in names or target == spec.name:
                raise LexiconError(f"{path}: tags.{spec.name}: implies unknown tag {target!r}")
            if tags[[t.name for t in tags].index(target)].implies:
                raise LexiconError(f"{path}: tags.{spec.name}: implies {target!r}, which implies others")
    seen: dict[str, str] = {}
    for spec in tags:
        for index, entry in enumerate(spec.entries):
            for form in entry.forms:
                key = fold_phrase(form)
                here = f"tags.{spec.name}.entries[{index}] ({entry.phrase!r})"
                if key in seen:
                    raise LexiconError(f"{path}: {here}: {form!r} duplicates {seen[key]} once folded")
                seen[key] = f"{here} form {form!r}"
    return Lexicon(version, tags, negation, unrelated, products, path)


@functools.cache
def load_lexicon(path: str | None = None) -> Lexicon:
    """The lexicon at `path` (default: the packaged lexicon.toml), parsed and validated once."""
    file = Path(path) if path is not None else DEFAULT_PATH
    try:
        with file.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{file}: not valid TOML: {exc}") from None
    return parse_lexicon(data, str(file))
