"""Load config.toml into frozen, typed dataclasses.

Every key is checked against the dataclass that declares it, so a typo or a wrong type fails loudly
with the file and key named, instead of silently falling back to a default. Secrets never live in
the file: they come from EXOWATCH_* environment variables.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.urlgate import UrlGate
from monitor.errors import ConfigError

CONFIG_ENV = "EXOWATCH_CONFIG"
DATABASE_URL_ENV = "EXOWATCH_DATABASE_URL"
DEFAULT_CONFIG_NAME = "config.toml"
DEFAULT_DATABASE_URL = "sqlite:///exowatch.db"


@dataclass(frozen=True)
class DatabaseConfig:
    """Where the store lives and how writes are batched."""

    url: str = DEFAULT_DATABASE_URL
    busy_timeout_seconds: float = 30.0
    batch_size: int = 500

    def __post_init__(self) -> None:
        _require(
            math.isfinite(self.busy_timeout_seconds) and 0 < self.busy_timeout_seconds <= 3600,
            "database.busy_timeout_seconds",
            "a number of seconds from 0 to 3600",
        )
        _require(1 <= self.batch_size <= 10_000, "database.batch_size", "an integer from 1 to 10000")
        _require(_supported_url(self.url), "database.url", "a sqlite:/// or postgresql:// URL")


@dataclass(frozen=True)
class StatusConfig:
    """What `exowatch status` shows."""

    latest_events: int = 10

    def __post_init__(self) -> None:
        _require(0 <= self.latest_events <= 1000, "status.latest_events", "an integer from 0 to 1000")


@dataclass(frozen=True)
class CrawlConfig:
    """How every crawl runs: who we are, what local hosts we may reach, limits and retries."""

    contact: str = "exowatch operator <exowatch@example.org>"
    allow_hosts: tuple[str, ...] = ()
    timeout_seconds: float = 1800.0
    retries: int = 2
    retry_backoff_seconds: float = 60.0
    # A source is failing (source.failing, once) when this many of its runs in a row failed,
    # counted in crawl_runs (every try is a run) and checked when a crawl has failed every try.
    failing_after: int = 1
    delist_after: int = 3
    download_delay_seconds: float = 1.0
    autothrottle: bool = True
    requests_per_site: int = 1
    # Every request through this HTTP proxy ("http://host:port"); empty: direct. The URL gate still
    # judges every target URL. The tests replay a whole web of clinic sites through one.
    proxy: str = ""
    # Obsolete: crawls once forked an extraction worker. Still read, so that an older config loads;
    # it does nothing, and the README says to remove it.
    extract_workers: int = field(default=1, metadata={"obsolete": True})

    def __post_init__(self) -> None:
        _require(
            bool(self.contact.strip()) and "\n" not in self.contact, "crawl.contact", "a one-line contact"
        )
        _require(
            math.isfinite(self.timeout_seconds) and 1 <= self.timeout_seconds <= 86_400,
            "crawl.timeout_seconds",
            "a number of seconds from 1 to 86400",
        )
        _require(0 <= self.retries <= 10, "crawl.retries", "an integer from 0 to 10")
        _require(1 <= self.failing_after <= 1000, "crawl.failing_after", "an integer from 1 to 1000")
        _require(
            math.isfinite(self.retry_backoff_seconds) and 0 <= self.retry_backoff_seconds <= 3600,
            "crawl.retry_backoff_seconds",
            "a number of seconds from 0 to 3600",
        )
        _require(1 <= self.delist_after <= 100, "crawl.delist_after", "an integer from 1 to 100")
        _require(
            math.isfinite(self.download_delay_seconds) and 0 <= self.download_delay_seconds <= 600,
            "crawl.download_delay_seconds",
            "a number of seconds from 0 to 600",
        )
        _require(1 <= self.requests_per_site <= 32, "crawl.requests_per_site", "an integer from 1 to 32")
        try:
            UrlGate(frozenset(self.allow_hosts))
        except ValueError as exc:
            raise _ValueProblem("crawl.allow_hosts", f"hosts the gate can allow ({exc})") from None
        _require(
            not self.proxy or (self.proxy.startswith("http://") and "@" not in self.proxy),
            "crawl.proxy",
            "empty or an http:// proxy URL without credentials",
        )


@dataclass(frozen=True)
class FdaWarningLettersSource:
    """FDA's warning-letter listing and letter pages."""

    base_url: str = "https://www.fda.gov"
    page_size: int = 100
    # "datatables": GET /datatables/views/ajax (JSON with a row count); "views": POST /views/ajax
    # (a Drupal command list carrying the table), where Akamai blocks the first.
    listing_endpoint: str = "datatables"
    # Letter pages a crawl reads at most: new letters in the listing first, then stored letters
    # still without a body (backfilled, or their page failed), newest first. A full crawl reads
    # every listed letter's page whatever this says.
    pages_per_run: int = 200

    def __post_init__(self) -> None:
        _require(
            self.base_url.startswith(("https://", "http://")) and "?" not in self.base_url,
            "sources.fda_warning_letters.base_url",
            "an http(s) URL without a query",
        )
        _require(
            1 <= self.page_size <= 500, "sources.fda_warning_letters.page_size", "an integer from 1 to 500"
        )
        _require(
            self.listing_endpoint in ("datatables", "views"),
            "sources.fda_warning_letters.listing_endpoint",
            '"datatables" or "views"',
        )
        _require(
            1 <= self.pages_per_run <= 100_000,
            "sources.fda_warning_letters.pages_per_run",
            "an integer from 1 to 100000",
        )


FDA_RSS = "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/"


@dataclass(frozen=True)
class FdaNoticesSource:
    """FDA's safety feeds, the alert pages they link to, and index pages of alerts."""

    # Where www.fda.gov URLs (feeds, alert pages, index pages) are fetched from: fda.gov itself,
    # or a replay server. Notices are keyed by their fda.gov URL whatever this says.
    base_url: str = "https://www.fda.gov"
    feeds: tuple[str, ...] = tuple(
        f"{FDA_RSS}{name}/rss.xml"
        for name in ("medwatch", "press-releases", "recalls", "biologics", "drugs", "health-fraud")
    )
    index_pages: tuple[str, ...] = (
        "https://www.fda.gov/vaccines-blood-biologics/safety-availability-biologics",
        "https://www.fda.gov/vaccines-blood-biologics/consumers-biologics",
    )
    # On index pages, only links under these paths are alert pages.
    index_link_paths: tuple[str, ...] = (
        "/vaccines-blood-biologics/safety-availability-biologics/",
        "/vaccines-blood-biologics/consumers-biologics/",
        "/safety/medical-product-safety-information/",
    )
    follow_pages: bool = True

    def __post_init__(self) -> None:
        _require(
            self.base_url.startswith(("https://", "http://")) and "?" not in self.base_url,
            "sources.fda_notices.base_url",
            "an http(s) URL without a query",
        )
        for key, urls in (("feeds", self.feeds), ("index_pages", self.index_pages)):
            _require(
                len(urls) <= 200 and all(u.startswith(("https://", "http://")) for u in urls),
                f"sources.fda_notices.{key}",
                "a list of at most 200 http(s) URLs",
            )
        _require(
            all(p.startswith("/") for p in self.index_link_paths),
            "sources.fda_notices.index_link_paths",
            "a list of paths starting with /",
        )


LISTING_KINDS = ("schema_org", "locator_json", "html", "url_list")
LOCATOR_FIELDS = (
    "name", "website", "phone", "street", "locality", "region", "postcode", "country",
    "latitude", "longitude",
)  # fmt: skip
HTML_FIELDS = ("entry", "name", "website", "phone", "address", "next")


@dataclass(frozen=True)
class ClinicListingSource:
    """One directory, locator or list of clinics. `kind` says how its entries are read:

    * schema_org: pages with schema.org JSON-LD or microdata businesses (LocalBusiness,
      MedicalClinic, DaySpa, BeautySalon, ...); the next page by rel=next or `next_param`;
    * locator_json: a store-locator JSON endpoint; `fields` maps our fields to its keys
      (`list` names the key of the locations list; `page_count` the key of the number of pages);
    * html: directory pages read with CSS `selectors` (entry, name, website, phone, address, next);
    * url_list: a CSV (url[,name,country]) or text file of clinic URLs, `start_urls` are paths.
    """

    name: str = ""
    kind: str = "schema_org"
    start_urls: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)
    selectors: dict[str, str] = field(default_factory=dict)
    next_param: str = ""  # paginate by this query parameter (page=1, 2, ...) when no next link
    max_pages: int = 50
    country: str = ""  # ISO 3166 alpha-2 for entries that do not say (phone numbers need it)

    def __post_init__(self) -> None:
        _require(
            bool(re.fullmatch(r"[a-z0-9_]{1,40}", self.name)),
            "sources.clinic_listings.name",
            "a short name of lower-case letters, digits and _",
        )
        _require(
            self.kind in LISTING_KINDS,
            f"sources.clinic_listings.{self.name}.kind",
            f"one of {', '.join(LISTING_KINDS)}",
        )
        _require(bool(self.start_urls), f"sources.clinic_listings.{self.name}.start_urls", "a non-empty list")
        if self.kind != "url_list":
            _require(
                all(u.startswith(("https://", "http://")) for u in self.start_urls),
                f"sources.clinic_listings.{self.name}.start_urls",
                "a list of http(s) URLs",
            )
        unknown = set(self.fields) - {*LOCATOR_FIELDS, "list", "page_count"}
        _require(
            not unknown,
            f"sources.clinic_listings.{self.name}.fields",
            f"a table of {', '.join((*LOCATOR_FIELDS, 'list', 'page_count'))}",
        )
        _require(
            not set(self.selectors) - set(HTML_FIELDS),
            f"sources.clinic_listings.{self.name}.selectors",
            f"a table of {', '.join(HTML_FIELDS)}",
        )
        if self.kind == "html":
            _require(
                {"entry", "name"} <= set(self.selectors),
                f"sources.clinic_listings.{self.name}.selectors",
                "a table with at least entry and name",
            )
        _require(
            1 <= self.max_pages <= 10_000,
            f"sources.clinic_listings.{self.name}.max_pages",
            "an integer from 1 to 10000",
        )
        _require(
            not self.country or bool(re.fullmatch(r"[A-Z]{2}", self.country)),
            f"sources.clinic_listings.{self.name}.country",
            "an ISO 3166 alpha-2 code such as US",
        )


@dataclass(frozen=True)
class ClinicSitesSource:
    """How each clinic's own site is read: shallowly, within a depth and a page budget."""

    depth: int = 2  # links followed from the home page
    pages_per_site: int = 25
    recheck_after_hours: float = 20.0  # a page fetched more recently is not asked for again
    snapshot_retention_days: int = 730  # raw HTML copies kept this long (the newest per page always)

    def __post_init__(self) -> None:
        _require(0 <= self.depth <= 5, "sources.clinic_sites.depth", "an integer from 0 to 5")
        _require(
            1 <= self.pages_per_site <= 500, "sources.clinic_sites.pages_per_site", "an integer from 1 to 500"
        )
        _require(
            math.isfinite(self.recheck_after_hours) and 0 <= self.recheck_after_hours <= 24 * 365,
            "sources.clinic_sites.recheck_after_hours",
            "a number of hours from 0 to 8760",
        )
        _require(
            1 <= self.snapshot_retention_days <= 36_500,
            "sources.clinic_sites.snapshot_retention_days",
            "an integer from 1 to 36500",
        )


@dataclass(frozen=True)
class SourcesConfig:
    """Every source's base URL comes from here, so a spider can crawl fda.gov or a local replay."""

    fda_warning_letters: FdaWarningLettersSource = field(default_factory=FdaWarningLettersSource)
    fda_notices: FdaNoticesSource = field(default_factory=FdaNoticesSource)
    clinic_listings: tuple[ClinicListingSource, ...] = ()
    clinic_sites: ClinicSitesSource = field(default_factory=ClinicSitesSource)

    def __post_init__(self) -> None:
        names = [source.name for source in self.clinic_listings]
        _require(len(names) == len(set(names)), "sources.clinic_listings", "listings with distinct names")


CHANNEL_KINDS = ("email", "feed", "apprise")
SMTP_SECURITY = ("starttls", "tls", "none")
SEVERITIES = ("low", "medium", "high")
DEFAULT_CHANNEL_EVENTS = (
    "letter.new", "letter.updated", "notice.new", "notice.updated",
    "flag.opened", "flag.escalated", "flag.resolved", "source.failing", "source.partial",
)  # fmt: skip


@dataclass(frozen=True)
class ChannelConfig:
    """One digest channel: what it carries (filters), when (cron), and where (email or feed files).
    The SMTP password comes only from EXOWATCH_SMTP_PASSWORD."""

    name: str = ""
    kind: str = "email"
    events: tuple[str, ...] = DEFAULT_CHANNEL_EVENTS
    min_severity: str = "low"  # flags below it are left out
    tags: tuple[str, ...] = ()  # letters and notices: only those with one of these tags (empty: all)
    countries: tuple[str, ...] = ()  # flags: only clinics in these countries (empty: all)
    schedule: str = "0 7 * * *"  # for the daemon: a cron line (UTC) or "every 12h"
    immediate_high: bool = False  # high-severity flags go out at once, not with the digest
    to: tuple[str, ...] = ()
    sender: str = ""
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    feed_dir: str = "feeds"
    feed_title: str = ""
    feed_link: str = "https://exowatch.example/"
    # apprise: the environment variable holding the channel's Apprise URLs (they carry tokens, so
    # never the file), space-separated: chat (Slack, Teams, Matrix, Telegram...) or webhooks (json://)
    apprise_urls_env: str = "EXOWATCH_APPRISE_URLS"

    def __post_init__(self) -> None:
        where = f"channels.{self.name or '?'}"
        _require(
            bool(re.fullmatch(r"[A-Z][A-Z0-9_]{0,80}", self.apprise_urls_env)),
            f"{where}.apprise_urls_env",
            "an environment variable name",
        )
        _require(
            bool(re.fullmatch(r"[a-z0-9_-]{1,60}", self.name)),
            "channels.name",
            "a short name of lower-case letters, digits, - and _",
        )
        _require(self.kind in CHANNEL_KINDS, f"{where}.kind", f"one of {', '.join(CHANNEL_KINDS)}")
        _require(self.min_severity in SEVERITIES, f"{where}.min_severity", f"one of {', '.join(SEVERITIES)}")
        _require(
            self.smtp_security in SMTP_SECURITY,
            f"{where}.smtp_security",
            f"one of {', '.join(SMTP_SECURITY)}",
        )
        _require(1 <= self.smtp_port <= 65535, f"{where}.smtp_port", "a port number")
        _require(
            _schedule_ok(self.schedule), f"{where}.schedule", "'every <n>s|m|h|d' or a five-field cron line"
        )
        if self.kind == "email":
            _require(
                bool(self.to) and all("@" in a and "\n" not in a for a in self.to),
                f"{where}.to",
                "a list of e-mail addresses",
            )
            _require("@" in self.sender and "\n" not in self.sender, f"{where}.sender", "an e-mail address")


RUNNABLE_SOURCES = ("fda_warning_letters", "fda_notices", "clinic_listings", "clinic_sites")


@dataclass(frozen=True)
class RunConfig:
    """What `exowatch once` (and the daemon) runs: the crawls, in this order, then the flagger and
    the digests."""

    sources: tuple[str, ...] = RUNNABLE_SOURCES

    def __post_init__(self) -> None:
        _require(
            all(source in RUNNABLE_SOURCES for source in self.sources)
            and len(set(self.sources)) == len(self.sources),
            "run.sources",
            f"a list of distinct sources among {', '.join(RUNNABLE_SOURCES)}",
        )


DEFAULT_SCHEDULES = {
    "fda_warning_letters": "every 6h",
    "fda_notices": "every 1h",
    "clinic_listings": "0 3 * * 1",
    "clinic_sites": "0 4 * * *",
}


@dataclass(frozen=True)
class DaemonConfig:
    """`exowatch run`: when each source is crawled, and how the scheduler treats late runs.

    A schedule is "every <n>s|m|h|d" (the first run comes at once when the daemon first starts)
    or a five-field cron line in UTC. Sources left out of `schedules` keep their default."""

    schedules: dict[str, str] = field(default_factory=dict)
    # The letters' full listing walk (every letter page again; counts towards delisting); "" = never.
    full_letters_schedule: str = "0 5 * * 0"
    # A run the daemon missed (it was down) still runs if it is at most this late; several
    # missed runs of one job run once (coalesced).
    misfire_grace_seconds: int = 3600
    # How often a daemon waiting for the lead tries again, and the leader checks it still leads.
    lead_check_seconds: float = 15.0

    def __post_init__(self) -> None:
        for source, text in self.schedules.items():
            _require(
                source in RUNNABLE_SOURCES,
                f"daemon.schedules.{source}",
                f"one of {', '.join(RUNNABLE_SOURCES)}",
            )
            _require(
                _schedule_ok(text),
                f"daemon.schedules.{source}",
                "'every <n>s|m|h|d' or a five-field cron line",
            )
        _require(
            not self.full_letters_schedule or _schedule_ok(self.full_letters_schedule),
            "daemon.full_letters_schedule",
            "'every <n>s|m|h|d', a five-field cron line or \"\"",
        )
        _require(
            0 < self.misfire_grace_seconds <= 7 * 86400, "daemon.misfire_grace_seconds", "1 to 604800 seconds"
        )
        _require(0.1 <= self.lead_check_seconds <= 3600, "daemon.lead_check_seconds", "0.1 to 3600 seconds")

    def schedule_for(self, source: str) -> str:
        return self.schedules.get(source, DEFAULT_SCHEDULES[source])


def _schedule_ok(text: str) -> bool:
    from monitor.schedules import parse_schedule

    try:
        parse_schedule(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class ServeConfig:
    """Where `exowatch serve-feed` listens."""

    host: str = "127.0.0.1"
    port: int = 8089

    def __post_init__(self) -> None:
        _require(bool(self.host.strip()) and " " not in self.host, "serve.host", "a host name or address")
        _require(1 <= self.port <= 65535, "serve.port", "a port number")


@dataclass(frozen=True)
class Config:
    """The whole configuration. `source` names the file it came from (not a TOML key)."""

    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    status: StatusConfig = field(default_factory=StatusConfig)
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    channels: tuple[ChannelConfig, ...] = ()
    serve: ServeConfig = field(default_factory=ServeConfig)
    run: RunConfig = field(default_factory=RunConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    source: str = field(default="(built-in defaults)", metadata={"toml": False})

    def __post_init__(self) -> None:
        names = [channel.name for channel in self.channels]
        _require(len(names) == len(set(names)), "channels", "channels with distinct names")

    @property
    def base_dir(self) -> Path:
        """Relative paths in the file (templates, listing fixtures) resolve against its folder."""
        source = Path(self.source)
        return source.parent if source.is_file() else Path(".")


class _ValueProblem(Exception):
    """Raised inside dataclass validation; re-raised as ConfigError with the file name."""

    def __init__(self, key: str, expected: str) -> None:
        super().__init__(key, expected)
        self.key = key
        self.expected = expected


SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")


def _supported_url(url: str) -> bool:
    """A URL for a driver exowatch installs, with a numeric port. Read with urllib, not with
    SQLAlchemy's parser: a crawl process loads this file, and does not load SQLAlchemy."""
    driver, separator, _ = url.partition("://")
    if not separator or driver not in SUPPORTED_DRIVERS:
        return False
    if driver.startswith("sqlite"):
        return url.startswith(f"{driver}:///")
    try:
        urlsplit(url).port  # noqa: B018 - a port that is not a number, a broken [IPv6] host raise
    except ValueError:
        return False
    return True


def _require(ok: bool, key: str, expected: str) -> None:
    if not ok:
        raise _ValueProblem(key, expected)


def load_config(
    path: str | os.PathLike[str] | None = None, env: typing.Mapping[str, str] | None = None
) -> Config:
    """Read the configuration: `path`, else $EXOWATCH_CONFIG, else ./config.toml, else defaults."""
    env = os.environ if env is None else env
    chosen = path if path is not None else env.get(CONFIG_ENV) or None
    if chosen is None and Path(DEFAULT_CONFIG_NAME).is_file():
        chosen = DEFAULT_CONFIG_NAME
    if chosen is None:
        config = Config()
        base_dir = Path.cwd()
    else:
        file = Path(chosen)
        config = _parse_file(file)
        base_dir = file.resolve().parent
    url_override = env.get(DATABASE_URL_ENV)
    if url_override:
        try:
            database = replace(config.database, url=url_override)
        except _ValueProblem as problem:
            raise ConfigError(f"{DATABASE_URL_ENV}: expected {problem.expected}") from None
        config = replace(config, database=database)
        base_dir = Path.cwd()
    database = replace(config.database, url=_resolve_sqlite_path(config.database.url, base_dir))
    return replace(config, database=database)


def _parse_file(file: Path) -> Config:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the config file ({exc.strerror or exc})") from None
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML ({exc})") from None
    try:
        config = _build(Config, table, prefix="", file=file)
    except _ValueProblem as problem:
        raise ConfigError(f"{file}: key '{problem.key}' must be {problem.expected}") from None
    if urlsplit(config.database.url).password:
        raise ConfigError(
            f"{file}: key 'database.url' holds a password; secrets belong in {DATABASE_URL_ENV}, not the file"
        )
    return replace(config, source=str(file))


def _build(cls: type, table: dict[str, Any], prefix: str, file: Path) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls) if f.metadata.get("toml", True)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if key not in known:
            expected = ", ".join(sorted(known)) or "no keys"
            where = f"[{prefix[:-1]}]" if prefix else "the top level"
            raise ConfigError(f"{file}: unknown key '{dotted}' (keys allowed in {where}: {expected})")
        values[key] = _coerce(hints[key], value, dotted, file)
    for name, spec in known.items():
        if name not in values and spec.default is MISSING and spec.default_factory is MISSING:
            raise ConfigError(f"{file}: missing key '{prefix}{name}'")
    return cls(**values)


def _coerce(annotation: Any, value: Any, dotted: str, file: Path) -> Any:
    """Check one TOML value against its declared type; ints are accepted where floats are."""
    if is_dataclass(annotation):
        if not isinstance(value, dict):
            raise ConfigError(f"{file}: key '{dotted}' must be a table [{dotted}], got {_kind(value)}")
        return _build(annotation, value, prefix=f"{dotted}.", file=file)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None or len(options) != 1:
            raise ConfigError(f"{file}: key '{dotted}' has an unsupported type")
        return _coerce(options[0], value, dotted, file)
    if origin is tuple:
        item_type = typing.get_args(annotation)[0]
        if not isinstance(value, list):
            raise ConfigError(f"{file}: key '{dotted}' must be a list, got {_kind(value)}")
        return tuple(_coerce(item_type, item, f"{dotted}[{i}]", file) for i, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{file}: key '{dotted}' must be a table, got {_kind(value)}")
        value_type = typing.get_args(annotation)[1]
        return {str(k): _coerce(value_type, v, f"{dotted}.{k}", file) for k, v in value.items()}
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation is int and isinstance(value, bool):
        raise ConfigError(f"{file}: key '{dotted}' must be an integer, got a boolean")
    if not isinstance(value, annotation):
        expected = _TYPE_NAMES.get(annotation, annotation.__name__)
        raise ConfigError(f"{file}: key '{dotted}' must be {expected}, got {_kind(value)}")
    return value


_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"string {value[:40]!r}"
    return f"{type(value).__name__} {value!r}"


def _resolve_sqlite_path(url: str, base_dir: Path) -> str:
    """Make a relative SQLite path absolute against the directory of the file that named it."""
    prefix, sep, rest = url.partition(":///")
    if not sep or not prefix.startswith("sqlite") or not rest or rest.startswith("/"):
        return url
    if rest.startswith(":memory:") or rest.startswith("file:"):
        return url
    return f"{prefix}:///{(base_dir / rest).resolve()}"
