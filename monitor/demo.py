"""`exowatch demo`: the whole job once, offline, on a fresh store, for someone new to exowatch.

The README says what exowatch does; this shows it on a machine with no network. It serves the
offline snapshot the tests crawl (tests/fixtures: clinic directories and sites in five countries,
and a replayed fda.gov with warning letters, safety feeds and alert pages) on loopback, starts a
local SMTP server that keeps what it receives, and runs what a user would run: `init`, the letter
backfill, and `once` (the four crawls, the flagger, the e-mail and RSS/Atom digests). Then it
prints what came out: the counts, each flagged clinic with its evidence, and where the digest is.

It needs a checkout: the snapshot and the replay servers live in tests/, which a wheel does not ship.
"""

from __future__ import annotations

import email
import json
import os
import socket
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from string import Template
from types import SimpleNamespace
from typing import Any

from db.store import Store
from monitor.config import Config, load_config
from monitor.errors import ExowatchError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
TEMPLATE = ROOT / "demo" / "config.toml"
LETTER_EXPORTS = ("listing_sample.csv", "listing_sample.json", "fda_export_sample.xlsx")
DEFAULT_OUT = ROOT / "demo" / "out"
STORE_FILES = ("exowatch.db", "exowatch.db-wal", "exowatch.db-shm", "exowatch.db-journal")
STRICT_WARNINGS_ENV = "EXOWATCH_STRICT_WARNINGS"
SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}
UNSAFE = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})  # Unicode categories never printed
STEPS = 6

Echo = Callable[[str], None]


@dataclass
class DemoResult:
    """What the demo produced; `failed` names the steps of `once` that failed."""

    counts: dict[str, Any] = field(default_factory=dict)
    flags: list[dict[str, Any]] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def run_demo(out: Path | None = None, *, echo: Echo = print) -> DemoResult:
    """Run the demo into `out` (default demo/out of the checkout) and print what it found."""
    check_checkout()
    out = (out or DEFAULT_OUT).resolve()
    echo(f"exowatch demo: the whole job once, offline, into {shown(out)}")
    helpers = replay_helpers()
    with replay_web(helpers) as web, smtp_server() as inbox:
        step(
            1,
            f"replayed web on {web.host}: the clinic directories and sites of tests/fixtures, and fda.gov",
            echo,
        )
        step(2, f"local SMTP server on 127.0.0.1:{inbox.port}, keeping what it receives", echo)
        config_path = write_config(fresh_folder(out), web.proxy, web.host, inbox.port)
        config = load_config(config_path, env={})  # the demo's store, whatever the environment says
        step(3, f"exowatch init: {init_store(config)}", echo)
        step(4, f"exowatch import-letters demo/data/*: {backfill(config)}", echo)
        step(5, "exowatch once: the four crawls (a process each), the flagger, the digests", echo)
        result = DemoResult(failed=once(config, config_path, echo))
        result.messages = list(inbox.messages)
    step(6, "done; here is what came out", echo)
    result.counts, result.flags = read_results(config)
    report(result, config, out, echo)
    if result.failed:
        raise ExowatchError(f"demo: failed: {', '.join(result.failed)}")
    return result


def check_checkout() -> None:
    """The demo replays the bundled snapshot; from a wheel there is none, so say so in one line."""
    needed = [FIXTURES / "clinics" / "web" / "manifest.json", TEMPLATE, ROOT / "demo" / "data"]
    missing = [path for path in needed if not path.exists()]
    if missing:
        raise ExowatchError(
            f"the demo needs a checkout of exowatch with its offline snapshot: {missing[0]} is missing "
            "(an installed wheel has no tests/fixtures; run it from a git clone: make demo)"
        )


def replay_helpers() -> SimpleNamespace:
    """The test suite's replay servers: the demo serves the very snapshot the tests crawl."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    strict = os.environ.get(STRICT_WARNINGS_ENV)  # tests.conftest sets it on import; not for the demo
    try:
        import tests
        from tests.fda_site import FdaSite, site_letters
        from tests.notices_site import serve_site
        from tests.web_replay import WebReplay
    except ImportError as exc:
        raise ExowatchError(
            f"the demo cannot load its replay servers from {ROOT / 'tests'}: {exc} "
            "(install the test extra: pip install -e '.[test]')"
        ) from None
    finally:
        if strict is None:
            os.environ.pop(STRICT_WARNINGS_ENV, None)
    if Path(tests.__file__).resolve().parent != ROOT / "tests":
        raise ExowatchError(
            f"the demo found another 'tests' package at {tests.__file__}, not {ROOT / 'tests'}"
        )
    return SimpleNamespace(
        WebReplay=WebReplay, FdaSite=FdaSite, site_letters=site_letters, serve_site=serve_site
    )


@contextmanager
def replay_web(helpers: SimpleNamespace) -> Iterator[Any]:
    """The clinic web and fda.gov behind one loopback forward proxy, for as long as the demo runs."""
    with helpers.WebReplay() as web:
        # the snapshot's fault pages (a 20 MB page the crawler drops) reset connections on purpose
        web.server.handle_error = lambda request, client_address: None
        # the built letter pages and the real fda.gov ones (tests/fixtures/fda/real/letters)
        helpers.FdaSite(web.mount("www.fda.gov"), helpers.site_letters(real=True), real=True)
        helpers.serve_site(web.sites["www.fda.gov"])
        yield web


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's naming
        self.messages.append(bytes(envelope.content))
        return "250 OK"


@contextmanager
def smtp_server(tries: int = 3) -> Iterator[Inbox]:
    """A local SMTP server on a free loopback port (aiosmtpd's Controller cannot take port 0)."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        raise ExowatchError(
            "the demo needs aiosmtpd (install the test extra: pip install -e '.[test]')"
        ) from None
    inbox = Inbox()
    for attempt in range(tries):
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        try:
            controller.start()
            break
        except OSError:  # the free port was taken between the probe and the bind: another one
            if attempt == tries - 1:
                raise
    inbox.port = controller.port
    try:
        yield inbox
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fresh_folder(out: Path) -> Path:
    """`out`, without the files of a previous demo (only those: it may be a folder of the user's)."""
    out.mkdir(parents=True, exist_ok=True)
    for name in (*STORE_FILES, "config.toml", "digest.eml", "digest.html"):
        (out / name).unlink(missing_ok=True)
    for name in ("public.rss.xml", "public.atom.xml"):
        (out / "feeds" / name).unlink(missing_ok=True)
    return out


def write_config(out: Path, proxy: str, replay_host: str, smtp_port: int) -> Path:
    """<out>/config.toml from demo/config.toml, with this run's proxy, SMTP port and snapshot."""
    values = {
        "proxy": json.dumps(proxy),
        "replay_host": json.dumps(replay_host),
        "smtp_port": str(smtp_port),
        "clinic_urls": json.dumps(str(FIXTURES / "clinics" / "clinic_urls.csv")),
    }
    text = Template(TEMPLATE.read_text("utf-8")).substitute(values)
    path = out / "config.toml"
    path.write_text(f"# Written by `exowatch demo` from {TEMPLATE.name}.\n{text}", encoding="utf-8")
    return path


def open_store(config: Config) -> Store:
    database = config.database
    return Store.open(
        database.url, busy_timeout_seconds=database.busy_timeout_seconds, batch_size=database.batch_size
    )


def init_store(config: Config) -> str:
    store = open_store(config)
    try:
        before, after = store.init()
        return f"store at {store.location}: schema {before or 'empty'} -> {after}"
    finally:
        store.close()


def backfill(config: Config) -> str:
    """FDA's listing exports bundled in demo/data: the letters a new store starts from."""
    from monitor.backfill import import_letter_files

    store = open_store(config)
    try:
        summary = import_letter_files(store, [ROOT / "demo" / "data" / name for name in LETTER_EXPORTS])
    finally:
        store.close()
    rows = sum(summary.rows_per_file.values())
    return f"{rows} rows of {len(LETTER_EXPORTS)} files, {summary.letters} letters: {summary.report.line()}"


def once(config: Config, config_path: Path, echo: Echo) -> list[str]:
    """`exowatch once`, its lines indented and made safe: crawl reasons quote scraped URLs."""
    from monitor.once import run_once

    partial = []

    def show(line: str) -> None:
        echo("      " + one_line(line))
        if " partial" in line:
            partial.append(line)

    report = run_once(config, config_path=str(config_path), echo=show)
    if partial:
        echo(
            "      (partial: the snapshot has broken pages on purpose; a crawl names them and keeps the rest)"
        )
    return report.failed


def step(number: int, text: str, echo: Echo) -> None:
    echo(f"[{number}/{STEPS}] {text}")


def read_results(config: Config) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    store = open_store(config)
    try:
        tables = store.table_counts()
        flags = store.open_flags()
        letter_pages = store.letter_page_counts()
    finally:
        store.close()
    counts = {
        "warning letters": tables["warning_letters"],
        # those whose page was read (body, tags, product names): every one, as the replayed
        # fda.gov serves a page for every letter of the backfill (demo/make_sample.py)
        "  with a body": letter_pages["with_body"],
        "FDA notices": tables["notices"],
        "clinics": tables["clinics"],
        "clinic pages": tables["pages"],
        "events": tables["events"],
    }
    severities = Counter(flag["severity"] for flag in flags)
    counts["open flags"] = len(flags)
    for severity in SEVERITY_RANK:
        counts[f"  {severity}"] = severities[severity]
    return counts, flags


def report(result: DemoResult, config: Config, out: Path, echo: Echo) -> None:
    echo("")
    echo("== in the store")
    for name, count in result.counts.items():
        echo(f"  {name:<16} {count:>6}")
    echo("")
    echo(f"== flagged clinics ({len(result.flags)} open flags), most severe first")
    for line in flag_lines(result.flags):
        echo(line)
    echo("")
    echo("== the digests")
    for line in digest_lines(result.messages, config, out):
        echo(line)


def flag_lines(flags: list[dict[str, Any]]) -> list[str]:
    """Each flagged clinic (its most severe flag first), then each flag: page, evidence, citations."""
    by_clinic: dict[str, list[dict[str, Any]]] = {}
    for flag in flags:
        by_clinic.setdefault(flag["clinic_key"], []).append(flag)
    lines: list[str] = []
    for key, group in sorted(by_clinic.items(), key=lambda item: (-_worst(item[1]), item[0])):
        group.sort(key=lambda flag: (-SEVERITY_RANK.get(flag["severity"], 0), flag["rule_id"]))
        head = group[0]
        name, country = one_line(head["name"] or "?", 60), one_line(head["country"] or "?", 8)
        lines.append(f"{head['severity'].upper():<6} {name} ({country}) {one_line(key, 80)}")
        for flag in group:
            evidence = flag["evidence"] or {}
            lines.append(
                f"  {flag['severity']:<6} {one_line(flag['rule_id'], 40)}: {one_line(evidence.get('url'))}"
            )
            excerpt = snippet_excerpt(evidence.get("snippet") or "", evidence.get("phrases") or [])
            lines.append(f'         "{excerpt}"')
            for cite in evidence.get("cites") or []:
                lines.append(f"         cites {cite_line(cite)}")
    return lines


def _worst(group: list[dict[str, Any]]) -> int:
    return max(SEVERITY_RANK.get(flag["severity"], 0) for flag in group)


def cite_line(cite: dict[str, Any]) -> str:
    kind = {"warning_letter": "FDA warning letter", "notice": "FDA notice"}.get(cite.get("kind"), "FDA")
    return f"{kind} {one_line(cite.get('title'), 100)}: {one_line(cite.get('url'))}"


def snippet_excerpt(snippet: str, phrases: list[str], width: int = 150) -> str:
    """About `width` columns of the evidence, from just before the first phrase the rule matched."""
    text = terminal_safe(snippet)
    lowered = text.lower()
    found = [at for at in (lowered.find(str(phrase).lower()) for phrase in phrases) if at >= 0]
    start = max(0, found[0] - width // 4) if found else 0
    if start and not text[start - 1].isspace():  # begin at a word, not inside one
        space = text.find(" ", start, found[0])
        start = space + 1 if 0 <= space - start <= 20 else start
    return ("..." if start else "") + clip(text[start:], width)


def digest_lines(messages: list[bytes], config: Config, out: Path) -> list[str]:
    """Where the digests are: the received e-mail (and its HTML), and the feed files."""
    lines: list[str] = []
    if messages:
        eml, html, subject = save_digest(messages[0], out)
        lines.append(f"  e-mail received by the local SMTP server: {one_line(subject, 120)}")
        lines.append(f"    {shown(eml)} (the message), {shown(html)} (its HTML part: open it in a browser)")
    else:
        lines.append("  no e-mail was received")
    for channel in config.channels:
        if channel.kind == "feed":
            folder = config.base_dir / channel.feed_dir
            for label, name in (("RSS", f"{channel.name}.rss.xml"), ("Atom", f"{channel.name}.atom.xml")):
                lines.append(f"  {label + ' feed:':<10} {shown(folder / name)}")
    lines.append(f"  the store: {shown(out / 'exowatch.db')} (query it: sqlite3; see the README's schema)")
    lines.append(f"  the config the demo ran with: {shown(out / 'config.toml')}")
    return lines


def save_digest(raw: bytes, out: Path) -> tuple[Path, Path, str]:
    """<out>/digest.eml as received, and <out>/digest.html, its HTML part."""
    eml, html = out / "digest.eml", out / "digest.html"
    eml.write_bytes(raw)
    message = email.message_from_bytes(raw, policy=policy.default)
    body = message.get_body(preferencelist=("html",))
    content = body.get_content() if body is not None else ""
    html.write_text(content.replace("\r\n", "\n"), encoding="utf-8")  # CRLF is the wire's, not the file's
    return eml, html, str(message["Subject"] or "")


def one_line(value: object, limit: int = 200) -> str:
    """Scraped text made fit for one terminal line of at most `limit` columns."""
    return clip(terminal_safe(value), limit)


def terminal_safe(value: object) -> str:
    """No control, format or separator characters (they can rewrite a terminal, reorder a line or
    break it), whitespace collapsed."""
    text = "" if value is None else str(value)
    kept = "".join(" " if unicodedata.category(char) in UNSAFE else char for char in text)
    return " ".join(kept.split())


def clip(text: str, columns: int) -> str:
    """`text` cut to `columns` terminal columns (East Asian wide characters take two)."""
    if sum(map(_columns, text)) <= columns:
        return text
    used = 0
    for index, char in enumerate(text):
        used += _columns(char)
        if used > columns - 3:
            space = text.rfind(" ", max(0, index - 20), index)  # end at a word where one is near
            return text[: space if space > 0 else index] + "..."
    return text


def _columns(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def shown(path: Path) -> str:
    """A path as short as it can be said: relative to the working folder when it is under it."""
    try:
        return one_line(path.resolve().relative_to(Path.cwd().resolve()), 300)
    except ValueError:
        return one_line(path, 300)
