"""The URL gate's policy, its DNS-time check and the hardened crawl settings. No DNS, no network."""

from __future__ import annotations

import pytest

from crawler.urlgate import UrlGate, Verdict

PUBLIC = "93.184.216.34"


class FakeResolver:
    """A resolver from a dict; records the names it was asked for."""

    def __init__(self, answers: dict[str, list[str]] | None = None):
        self.answers = answers or {}
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise OSError(f"no such host {host}")
        return self.answers[host]


def gate(allow: tuple[str, ...] = (), **answers: list[str]) -> UrlGate:
    return UrlGate(
        frozenset(allow), resolver=FakeResolver({k.replace("_", "."): v for k, v in answers.items()})
    )


@pytest.mark.parametrize(
    ("url", "kind", "reason"),
    [
        ("http://127.0.0.1/", "loopback", "127.0.0.1 is loopback"),
        ("http://127.0.0.1:8080/x", "loopback", "127.0.0.1 is loopback"),
        ("http://10.0.0.1/", "private", "10.0.0.1 is private"),
        ("https://172.16.5.4/", "private", "172.16.5.4 is private"),
        ("http://192.168.1.1/admin", "private", "192.168.1.1 is private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata", "169.254.169.254 is cloud metadata"),
        ("http://169.254.1.1/", "link_local", "169.254.1.1 is link-local"),
        ("http://100.64.0.1/", "cgnat", "100.64.0.1 is CGNAT (100.64.0.0/10)"),
        ("http://100.100.100.200/", "metadata", "100.100.100.200 is cloud metadata"),
        ("http://[::1]/", "loopback", "::1 is loopback"),
        ("http://[fe80::1]/", "link_local", "fe80::1 is link-local"),
        ("http://[fe80::1%25eth0]/", "link_local", "fe80::1%eth0 is link-local"),
        ("http://[fc00::5]/", "private", "fc00::5 is private"),
        ("http://[fd00:ec2::254]/", "metadata", "fd00:ec2::254 is cloud metadata"),
        ("http://[::ffff:127.0.0.1]/", "loopback", "::ffff:7f00:1 is loopback (embedded 127.0.0.1)"),
        ("http://[::ffff:10.1.2.3]/", "private", "::ffff:a01:203 is private (embedded 10.1.2.3)"),
        (
            "http://[::ffff:169.254.169.254]/",
            "metadata",
            "::ffff:a9fe:a9fe is cloud metadata (embedded 169.254.169.254)",
        ),
        ("http://[2002:7f00:1::]/", "loopback", "2002:7f00:1:: is loopback (embedded 127.0.0.1)"),
        ("http://[64:ff9b::a00:1]/", "private", "64:ff9b::a00:1 is private (embedded 10.0.0.1)"),
        ("http://%31%32%37.0.0.1/", "loopback", "127.0.0.1 is loopback"),
        ("http://0.0.0.0/", "unspecified", "0.0.0.0 is unspecified"),
        ("http://[::]/", "unspecified", ":: is unspecified"),
        ("http://224.0.0.1/", "multicast", "224.0.0.1 is multicast"),
        ("http://240.0.0.1/", "reserved", "240.0.0.1 is reserved"),
        ("http://192.0.2.7/", "non_public", "192.0.2.7 is not a public address"),
        # legacy IPv4 spellings, parsed as inet_aton and browsers do
        ("http://127.1/", "loopback", "127.0.0.1 is loopback"),
        ("http://0x7f.0.0.1/", "loopback", "127.0.0.1 is loopback"),
        ("http://2130706433/", "loopback", "127.0.0.1 is loopback"),
        ("http://012.0.0.1/", "private", "10.0.0.1 is private"),
        # schemes
        ("file:///etc/passwd", "scheme", "scheme 'file' not allowed"),
        ("ftp://ftp.example.org/pub/", "scheme", "scheme 'ftp' not allowed"),
        ("data:text/html,<h1>x</h1>", "scheme", "scheme 'data' not allowed"),
        ("s3://bucket/key", "scheme", "scheme 's3' not allowed"),
        ("gopher://example.org/", "scheme", "scheme 'gopher' not allowed"),
        ("//example.org/", "scheme", "no scheme"),
        # metadata by name, before any DNS
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "metadata",
            "metadata.google.internal is cloud metadata",
        ),
        ("http://METADATA.Google.Internal./", "metadata", "metadata.google.internal is cloud metadata"),
        # malformed
        ("http:///path", "invalid", "no host in URL"),
        ("http://example.org:99999/", "invalid", "invalid URL: Port out of range 0-65535"),
    ],
)
def test_refused_without_dns(url: str, kind: str, reason: str) -> None:
    resolver = FakeResolver()
    verdict = UrlGate(frozenset(), resolver=resolver).check(url)
    assert verdict == Verdict(False, reason, kind)
    assert resolver.asked == []


def test_public_literal_is_allowed_without_dns() -> None:
    resolver = FakeResolver()
    assert UrlGate(frozenset(), resolver=resolver).check(f"https://{PUBLIC}/page").allowed
    assert (
        UrlGate(frozenset(), resolver=resolver).check("http://[2606:2800:220:1:248:1893:25c8:1946]/").allowed
    )
    assert resolver.asked == []


def test_host_name_resolving_to_a_public_address_is_allowed() -> None:
    verdict = gate(www_example_org=[PUBLIC]).check("https://www.example.org/a?b=c")
    assert verdict == Verdict(True, "www.example.org resolves to public addresses only")


def test_host_name_resolving_to_a_private_address_is_refused() -> None:
    verdict = gate(intranet_example_com=["10.20.30.40"]).check("http://intranet.example.com/")
    assert verdict == Verdict(
        False, "intranet.example.com resolves to 10.20.30.40, which is private", "private"
    )


def test_one_private_address_among_public_ones_is_enough_to_refuse() -> None:
    verdict = gate(mixed_example_com=[PUBLIC, "127.0.0.1"]).check("http://mixed.example.com/")
    assert verdict == Verdict(False, "mixed.example.com resolves to 127.0.0.1, which is loopback", "loopback")
    verdict = gate(mixed6_example_com=["2606:2800:220:1::1", "fe80::1%eth0"]).check(
        "http://mixed6.example.com/"
    )
    assert verdict.kind == "link_local"


def test_host_that_does_not_resolve_is_refused() -> None:
    assert gate().check("http://nowhere.invalid/") == Verdict(
        False, "cannot resolve host nowhere.invalid", "unresolvable"
    )
    assert gate(empty_example=[]).check("http://empty.example/").kind == "unresolvable"
    assert gate(odd_example=["not-an-ip"]).check("http://odd.example/").kind == "invalid"


def test_upper_case_host_names_are_resolved_lower_case() -> None:
    resolver = FakeResolver({"intranet.example.com": ["192.168.0.9"], "www.example.org": [PUBLIC]})
    policy = UrlGate(frozenset(), resolver=resolver)
    assert policy.check("HTTP://InTrAnEt.Example.COM/").kind == "private"
    assert policy.check("https://WWW.EXAMPLE.ORG./").allowed
    assert resolver.asked == ["intranet.example.com", "www.example.org"]


def test_allow_listed_loopback_host_port_passes_without_dns_on_that_port_only() -> None:
    resolver = FakeResolver()
    policy = UrlGate(frozenset({"127.0.0.1:8123"}), resolver=resolver)
    assert policy.check("http://127.0.0.1:8123/warning-letters").allowed
    assert policy.check("http://127.0.0.1:8124/") == Verdict(False, "127.0.0.1 is loopback", "loopback")
    assert policy.check("http://127.0.0.1/").kind == "loopback"
    assert policy.check("file://127.0.0.1:8123/etc/passwd").kind == "scheme"
    assert resolver.asked == []


def test_allow_list_entries_compare_case_insensitively_with_default_ports() -> None:
    resolver = FakeResolver()
    policy = UrlGate(
        frozenset({"Replay.LOCAL", "Other.Local:80", "[::1]:9000", "LocalHost:443"}), resolver=resolver
    )
    assert policy.check("http://replay.local:5000/").allowed  # any port
    assert policy.check("http://REPLAY.local./").allowed
    assert policy.check("http://other.local/").allowed  # default port 80
    assert policy.check("https://localhost/").allowed  # default port 443
    assert policy.check("http://[::1]:9000/").allowed
    assert policy.check("http://[::1]:9001/").kind == "loopback"
    assert resolver.asked == []
    assert policy.is_allow_listed("OTHER.local") and policy.is_allow_listed("::1")


def test_metadata_stays_refused_even_when_allow_listed() -> None:
    policy = UrlGate(frozenset({"169.254.169.254", "metadata.google.internal"}), resolver=FakeResolver())
    assert policy.check("http://169.254.169.254/").kind == "metadata"
    assert policy.check("http://metadata.google.internal/").kind == "metadata"


@pytest.mark.parametrize(
    "entry",
    ["", "host:port", "host:0", "host:70000", "[::1", "[::1]x", ":80", "*", "0.0.0.0/0", "::/0", "a b", "*:80"],
)
def test_bad_allow_list_entries_are_errors(entry: str) -> None:
    with pytest.raises(ValueError):
        UrlGate(frozenset({entry}))


def test_precheck_answers_none_only_when_dns_must_decide() -> None:
    policy = UrlGate(frozenset({"replay.local"}), resolver=FakeResolver())
    assert policy.precheck("https://www.example.org/") is None
    assert policy.precheck("http://replay.local/").allowed
    assert policy.precheck("http://10.0.0.1/").kind == "private"
    assert policy.precheck("file:///etc/passwd").kind == "scheme"


def test_check_addresses_is_the_connect_time_check() -> None:
    policy = UrlGate(frozenset({"127.0.0.1:8123"}))
    assert policy.check_addresses("127.0.0.1", ["127.0.0.1"]).allowed  # allow-listed host, any port
    assert policy.check_addresses("www.example.org", [PUBLIC]).allowed
    assert policy.check_addresses("rebind.example", ["127.0.0.1"]) == Verdict(
        False, "rebind.example resolves to 127.0.0.1, which is loopback", "loopback"
    )
    assert policy.check_addresses("10.0.0.1", ["10.0.0.1"]) == Verdict(
        False, "10.0.0.1 is private", "private"
    )


# --- the Scrapy side, without a reactor ---------------------------------------------------------


def test_gated_resolver_fails_the_lookup_of_a_refused_address() -> None:
    from scrapy import resolver as scrapy_resolver
    from twisted.internet.error import DNSLookupError

    from crawler.middlewares import GatedResolver

    resolver = GatedResolver(None, 100, 5.0, UrlGate(frozenset({"replay.local"})))
    cache = scrapy_resolver.dnscache
    answers = {"rebind.example": "127.0.0.1", "www.example.org": PUBLIC, "replay.local": "127.0.0.1"}
    for name, address in answers.items():
        cache[name] = address  # a cache hit answers without a thread or DNS
    try:
        results: dict[str, object] = {}
        for name in answers:
            resolver.getHostByName(name).addBoth(lambda r, name=name: results.__setitem__(name, r))
        assert results["www.example.org"] == PUBLIC
        assert results["replay.local"] == "127.0.0.1"
        failure = results["rebind.example"]
        assert failure.check(DNSLookupError)
        assert "rebind.example resolves to 127.0.0.1, which is loopback" in str(failure.value)
    finally:
        for name in answers:
            cache.pop(name, None)


def test_crawl_settings_are_hardened() -> None:
    from crawler.settings import crawl_settings

    settings = crawl_settings(user_agent_contact="ops@example.org", allow_hosts=("127.0.0.1:8123",))
    assert settings["BOT_NAME"] == "exowatch"
    assert settings["TELNETCONSOLE_ENABLED"] is False
    assert settings["REMOTE_CONTROL_ENABLED"] is False
    assert settings["DOWNLOAD_HANDLERS"] == {
        "file": None,
        "data": None,
        "ftp": None,
        "s3": None,
        "http": "crawler.handlers.ProxyPoolDownloadHandler",
        "https": "crawler.handlers.ProxyPoolDownloadHandler",
    }
    assert settings["EXOWATCH_ALLOW_HOSTS"] == ["127.0.0.1:8123"]
    assert settings["USER_AGENT"].startswith("exowatch/") and settings["USER_AGENT"].endswith(
        "(+mailto:ops@example.org)"
    )
    assert {429, 500, 502, 503, 504} <= set(settings["RETRY_HTTP_CODES"])
    assert settings["ROBOTSTXT_OBEY"] is True and settings["COOKIES_ENABLED"] is False
    assert settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1 and settings["AUTOTHROTTLE_ENABLED"] is True
    assert 0 < settings["DOWNLOAD_WARNSIZE"] < settings["DOWNLOAD_MAXSIZE"] <= 64 * 1024 * 1024
    assert settings["TWISTED_DNS_RESOLVER"] == "crawler.middlewares.GatedResolver"


def test_gate_runs_first_and_replaces_nothing_it_should_not() -> None:
    from scrapy.settings import Settings
    from scrapy.utils.conf import build_component_list

    from crawler.settings import crawl_settings

    settings = Settings(crawl_settings(user_agent_contact="https://example.org/contact", allow_hosts=()))
    order = build_component_list(settings.get_component_priority_dict_with_base("DOWNLOADER_MIDDLEWARES"))
    names = [path.rsplit(".", 1)[1] for path in order]
    assert names.index("UrlGateMiddleware") < names.index("StrictRobotsTxtMiddleware")
    assert names.index("UrlGateMiddleware") < names.index("RedirectMiddleware")
    assert names.index("UrlGateMiddleware") < names.index("MetaRefreshMiddleware")
    assert "RobotsTxtMiddleware" not in names and "HttpCompressionMiddleware" not in names
    assert names.index("CountingHttpCompressionMiddleware") < names.index("RedirectMiddleware")


def test_crawl_settings_overrides_merge_and_cannot_drop_the_gate() -> None:
    from crawler.settings import crawl_settings

    settings = crawl_settings(
        user_agent_contact="ops@example.org",
        allow_hosts=(),
        overrides={"DOWNLOAD_DELAY": 0, "DOWNLOADER_MIDDLEWARES": {"my.Middleware": 543}},
    )
    assert settings["DOWNLOAD_DELAY"] == 0
    assert settings["DOWNLOADER_MIDDLEWARES"]["my.Middleware"] == 543
    assert settings["DOWNLOADER_MIDDLEWARES"]["crawler.middlewares.UrlGateMiddleware"] == 60
    with pytest.raises(ValueError, match="must not disable"):
        crawl_settings(
            user_agent_contact="ops@example.org",
            allow_hosts=(),
            overrides={"DOWNLOADER_MIDDLEWARES": {"crawler.middlewares.UrlGateMiddleware": None}},
        )
    with pytest.raises(ValueError, match="allow_hosts"):
        crawl_settings(
            user_agent_contact="ops@example.org", allow_hosts=(), overrides={"EXOWATCH_ALLOW_HOSTS": ["x"]}
        )
    with pytest.raises(ValueError, match="bad port"):
        crawl_settings(user_agent_contact="ops@example.org", allow_hosts=("127.0.0.1:http",))


@pytest.mark.parametrize(
    ("contact", "uri"),
    [
        ("ops@example.org", "mailto:ops@example.org"),
        ("exowatch operator <exowatch@example.org>", "mailto:exowatch@example.org"),
        ("mailto:ops@example.org", "mailto:ops@example.org"),
        ("https://example.org/contact", "https://example.org/contact"),
    ],
)
def test_user_agent_carries_the_contact(contact: str, uri: str) -> None:
    from crawler.settings import user_agent

    assert user_agent(contact).endswith(f" (+{uri})")


@pytest.mark.parametrize(
    "contact", ["", "nobody", "ops@example.org\r\nX-Evil: 1", "a b@example.org", "(x)@example.org", "a <b>"]
)
def test_user_agent_contact_must_be_an_address_or_url(contact: str) -> None:
    from crawler.settings import user_agent

    with pytest.raises(ValueError):
        user_agent(contact)
