"""What every page extractor needs: a safe parse of hostile bytes, the page's text as blocks, and the
recognition of block pages and truncated pages. Pure functions over lxml.etree trees.

* `parse_page` reads the bytes as UTF-8 (invalid bytes become U+FFFD, C0 control bytes are dropped:
  NUL can stop a C parser early), refuses pages over a size limit, and parses with libxml2's HTML
  parser without network access, comments or processing instructions.
* `blocks` walks a subtree in C (lxml's iterwalk, no recursion limit) and returns its text as
  paragraph-like blocks; it never reads scripts, styles, forms, frames or hidden elements.
* `refuse_block_page` recognizes Akamai's "Access Denied" and apology pages, which fda.gov sends
  with status 200.
* `ends_complete` tells a page that ends with `</html>` from one that was cut in transfer.
"""

from __future__ import annotations

import re
import threading

import charset_normalizer
from lxml import etree

from crawler.errors import SourceFailure
from crawler.normalize.text import clean

MAX_PAGE_BYTES = 5 * 1024 * 1024

# C0 controls other than tab, LF, FF and CR: never text. (In UTF-8 these bytes only ever stand for
# themselves, so deleting them cannot break a character.)
_C0_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F])
_HTML_END = re.compile(rb"</html\s*>\Z", re.I)
_HTML_END_WINDOW = 4096
_DETECT_BYTES = 256 * 1024
# Single-byte code pages a detector may prefer to windows-1252 for Western text.
_RARE_WESTERN = frozenset(
    {"cp775", "cp437", "cp850", "cp852", "cp858", "cp1250", "cp1257", "mac_roman", "mac_latin2", "latin_1",
     "iso8859_15", "iso8859_2", "iso8859_4", "iso8859_13", "cp1252", "cp1125", "cp866", "kz1048", "ptcp154"}
)  # fmt: skip

BLOCK_TAGS = frozenset(
    "address article aside blockquote caption dd details div dl dt fieldset figcaption figure footer "  # noqa: SIM905
    "h1 h2 h3 h4 h5 h6 header hr legend li main nav ol p pre section summary table tbody td tfoot th "
    "thead tr ul".split()
)
SKIP_TAGS = frozenset(
    "applet audio button canvas embed form frame frameset head iframe input link map math meta noscript "  # noqa: SIM905
    "object option script select style svg template textarea title video".split()
)

TITLE_SUFFIX = re.compile(r"\s*\|\s*FDA\s*$", re.I)
_BLOCK_TITLE = re.compile(
    r"^(?:access denied|request rejected|.*\bapology\b.*|(?:403 )?forbidden|too many requests|"
    r"service unavailable|(?:503 )?service temporarily unavailable)$",
    re.I,
)
_AKAMAI_MARKERS = re.compile(
    r"reference\s*#\s*\d+\.[0-9a-f]+\.\d+\.[0-9a-f]+|errors\.edgesuite\.net|apology_objects|"
    r"you don't have permission to access",
    re.I,
)
_AKAMAI_REFERENCE = re.compile(r"reference\s*#\s*(\d+\.[0-9a-f]+\.\d+\.[0-9a-f]+)", re.I)
_PARSERS = threading.local()


def parse_page(html: bytes, what: str, encoding: str | None = None) -> tuple[etree._Element, bytes]:
    """The parsed tree and the cleaned bytes of a page; `what` names the page in every error.

    Without `encoding` the page is read as UTF-8 (fda.gov's); with one (the encoding the response
    declared), see `decode_page`."""
    if not isinstance(html, bytes | bytearray | memoryview):
        raise TypeError(f"html must be bytes, not {type(html).__name__}")
    if len(html) > MAX_PAGE_BYTES:
        raise SourceFailure(f"{what} is {len(html)} bytes, over the {MAX_PAGE_BYTES}-byte limit")
    data = bytes(html).translate(None, _C0_BYTES)
    if encoding is None:
        text = data.decode("utf-8", errors="replace")
    else:
        text, _ = decode_page(data, encoding)
    return parse_text(text, what), data


def parse_text(text: str, what: str) -> etree._Element:
    """Parse a page's decoded text (see `parse_page`)."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise SourceFailure(f"{what} is empty")
    parser = _parser()
    try:  # re-encoded: the decode above replaced invalid bytes, so libxml2 sees valid UTF-8 only
        root = etree.fromstring(text.encode("utf-8"), parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise SourceFailure(f"{what} is not parseable HTML: {str(exc)[:200]}") from None
    if root is None:
        raise SourceFailure(f"{what} is not parseable HTML")
    if any("Excessive depth" in entry.message for entry in parser.error_log):
        # libxml2 stops reading at its depth limit and drops the rest without failing: the text
        # would be silently cut, so the page is refused instead
        raise SourceFailure(f"{what} nests elements deeper than the parser reads (256 levels)")
    return root


def _parser() -> etree.HTMLParser:
    """This thread's HTML parser, made once: lxml parsers may be reused but not shared by threads.

    lxml.etree's parser, not lxml.html's: the same libxml2 parse, without a Python element class
    lookup for every node (no HtmlElement method is used). Its error_log holds the last parse's."""
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.HTMLParser(
            encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, collect_ids=False
        )
    return parser


def strip_controls(html: bytes) -> bytes:
    """The bytes without C0 control bytes (tab, LF, FF and CR stay)."""
    return bytes(html).translate(None, _C0_BYTES)


def decode_page(data: bytes, declared: str | None) -> tuple[str, str]:
    """(text, the encoding it was read with). The declared encoding first, then UTF-8, strictly;
    when neither reads the bytes (a page that says UTF-8 and is windows-1252), the encoding
    charset-normalizer finds; as a last resort UTF-8 with replacement characters."""
    for encoding in dict.fromkeys(e for e in (declared, "utf-8") if e):
        try:
            return data.decode(encoding), encoding
        except (LookupError, UnicodeDecodeError):
            continue
    best = charset_normalizer.from_bytes(data[:_DETECT_BYTES]).best()
    if best is not None and best.encoding not in _RARE_WESTERN:
        try:
            return data.decode(best.encoding, errors="replace"), best.encoding
        except LookupError:
            pass
    # Western text mislabelled as UTF-8 is nearly always windows-1252 (what editors on Windows
    # write); detectors often rank an old DOS or Baltic code page first for short pages.
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        pass
    if best is not None:
        return data.decode(best.encoding, errors="replace"), best.encoding
    return data.decode("utf-8", errors="replace"), "utf-8"


def ends_complete(data: bytes) -> bool:
    """Whether the page's bytes end with `</html>` (trailing whitespace and comments allowed).

    Comments are peeled off the end one at a time, not matched by one regex: a regex with a lazy
    comment inside a repeated group backtracks exponentially on many comments and junk after."""
    tail = data[-_HTML_END_WINDOW:].rstrip()
    while tail.endswith(b"-->"):
        opened = tail.rfind(b"<!--")
        if opened == -1:
            return False
        tail = tail[:opened].rstrip()
    return bool(_HTML_END.search(tail))


def blocks(root: etree._Element, skip: frozenset = frozenset()) -> list[str]:
    """The text of an element as blocks (paragraph-like runs); <br> becomes "\\n" inside a block.

    Never reads script, style, forms, frames, hidden elements or anything in `skip`.
    """
    out: list[str] = []
    buf: list[str] = []
    skipped: set[etree._Element] = set()
    walker = etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, el in walker:
        tag = el.tag
        if event == "comment" or event == "pi":  # never read; the text after one is
            if el is not root and el.tail:
                buf.append(el.tail)
            continue
        if el in skipped:  # the "end" of an element whose subtree was skipped: only its tail
            if el.tail:
                buf.append(el.tail)
            continue
        if event == "start":
            if el is not root and (not isinstance(tag, str) or tag in SKIP_TAGS or el in skip or hidden(el)):
                walker.skip_subtree()
                skipped.add(el)
                continue
            if tag == "br":
                buf.append("\n")
                continue
            if tag in BLOCK_TAGS and buf:
                out.append("".join(buf))
                buf.clear()
            if el.text:
                buf.append(el.text)
        else:
            if tag in BLOCK_TAGS and buf:
                out.append("".join(buf))
                buf.clear()
            if el is not root and el.tail:
                buf.append(el.tail)
    if buf:
        out.append("".join(buf))
    return out


def hidden(el: etree._Element) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = el.get("style")
    return bool(style) and "display:none" in style.replace(" ", "").lower()


def title_text(root: etree._Element) -> str:
    """The text of the page's first <title> ("" without one), raw.

    Found by lxml's C-level tag iteration: measured, an XPath such as string(//title) cost
    several times as much on a letter page, and extraction runs once a page."""
    title = next(root.iter("title"), None)
    return "".join(title.itertext()) if title is not None else ""


def has_class(el: etree._Element, name: str) -> bool:
    return name in (el.get("class") or "").split()


def fda_content_marked(root: etree._Element) -> bool:
    """FDA's content markers: a page with a div[role=main] or an h1.content-title is a content
    page, not a block page."""
    for el in root.iter("div", "h1"):
        if (el.get("role") == "main") if el.tag == "div" else has_class(el, "content-title"):
            return True
    return False


def refuse_block_page(
    root: etree._Element,
    what: str,
    *,
    real_title: re.Pattern | None = None,
    raw_title: str | None = None,
    content_marked: bool | None = None,
) -> None:
    """Raise SourceFailure on an Akamai block or apology page. A page whose title matches
    `real_title` (e.g. a letter titled "Forbidden Foods Inc - ...") is never taken for one.
    `raw_title` and `content_marked`, when the caller has them already, save looking again."""
    raw = title_text(root) if raw_title is None else raw_title
    title = clean(raw[:2000], field="title") or ""  # cleaned first: no long space runs
    title = TITLE_SUFFIX.sub("", title)
    if _BLOCK_TITLE.match(title) and not (real_title is not None and real_title.match(title)):
        raise SourceFailure(f"block page instead of {what}: {title[:80]!r}{_akamai_reference(root)}")
    if fda_content_marked(root) if content_marked is None else content_marked:
        return
    body = root.find("body")
    text = " ".join(blocks(root if body is None else body))[:20_000]
    if _AKAMAI_MARKERS.search(text):
        raise SourceFailure(f"block page instead of {what}{_akamai_reference(root)}")


def _akamai_reference(root: etree._Element) -> str:
    match = _AKAMAI_REFERENCE.search(" ".join(blocks(root))[:20_000])
    return f" (Akamai reference #{match.group(1)})" if match else ""
