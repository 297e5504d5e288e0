"""SSRF: 43 spellings of addresses the program must not reach and 20 redirect tricks, each tried
on both ways the program fetches (a Scrapy crawl, and `check-page URL`'s own fetch), with a
tripwire listening on the loopback addresses they name.

The site serving the redirects is allow-listed by host and port (127.0.0.1:S), so loopback itself
is reachable on that one port: the tripwire's port (P) on the same address must still be refused,
however it is spelled. Each URL carries a path of its own, so the tripwire can tell which one got
through; a connection that sent no request line is counted by its own probe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from tests.httpserver import ReplayServer, Route, redirect
from tests.reliability.test_crawl_gate import run_crawl
from tests.reliability.tripwire import Tripwire

OFFER = (
    b"<html><head><title>Exosome IV therapy</title></head><body><h1>Exosome IV therapy</h1>"
    b"<p>Our exosome IV infusions for knee arthritis. $1,500 per session. Book now.</p></body></html>"
)

# name -> URL, {port} being the tripwire's and {site} the allow-listed site's port
SPELLINGS = {
    "dotted": "http://127.0.0.1:{port}",
    "short-two-parts": "http://127.1:{port}",
    "short-three-parts": "http://127.0.1:{port}",
    "decimal": "http://2130706433:{port}",
    "hex": "http://0x7f000001:{port}",
    "hex-dotted": "http://0x7f.0x0.0x0.0x1:{port}",
    "octal-dotted": "http://0177.0.0.1:{port}",
    "octal": "http://017700000001:{port}",
    "mixed-radix": "http://0x7f.1:{port}",
    "zero": "http://0:{port}",
    "unspecified": "http://0.0.0.0:{port}",
    "trailing-dot": "http://127.0.0.1.:{port}",
    "second-loopback": "http://127.0.0.2:{port}",
    "loopback-range-end": "http://127.255.255.254:{port}",
    "localhost": "http://localhost:{port}",
    "localhost-mixed-case": "http://LocalHost:{port}",
    "localhost-dot": "http://localhost.:{port}",
    "localhost-subdomain": "http://ssrf.localhost:{port}",
    "fullwidth-digits": "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}",
    "v6-loopback": "http://[::1]:{port}",
    "v6-long": "http://[0:0:0:0:0:0:0:1]:{port}",
    "v6-unspecified": "http://[::]:{port}",
    "v4-mapped": "http://[::ffff:127.0.0.1]:{port}",
    "v4-mapped-hex": "http://[::ffff:7f00:1]:{port}",
    "v4-compatible": "http://[::127.0.0.1]:{port}",
    "nat64": "http://[64:ff9b::7f00:1]:{port}",
    "6to4": "http://[2002:7f00:1::]:{port}",
    "link-local-zone": "http://[fe80::1%25lo]:{port}",
    "unique-local": "http://[fd00::1]:{port}",
    "userinfo": "http://user:pass@127.0.0.1:{port}",
    "userinfo-host": "http://example.org@127.0.0.1:{port}",
    "userinfo-allowed-port": "http://127.0.0.1:{site}@127.0.0.1:{port}",
    "backslash-userinfo": "http://127.0.0.1:{port}\\@example.org",
    "https": "https://127.0.0.1:{port}",
    "ftp": "ftp://127.0.0.1:{port}",
    "gopher": "gopher://127.0.0.1:{port}",
    "metadata": "http://169.254.169.254",
    "metadata-decimal": "http://2852039166",
    "metadata-v6": "http://[fd00:ec2::254]",
    "private": "http://10.0.0.1",
    "private-192": "http://192.168.0.1",
    "cgnat": "http://100.64.0.1",
    "benchmarking": "http://198.18.0.1",
}
# The control: the host is the allow-listed site (what precedes '@' is userinfo, not a port).
ALLOWED = {"encoded-slash-userinfo": "http://127.0.0.1:{port}%2f@127.0.0.1:{site}"}

# name -> (status, Location or None, body): the site's answer at /trick/<name>
TRICKS = {
    "302-dotted": (302, "http://127.0.0.1:{port}", b""),
    "301-short": (301, "http://127.1:{port}", b""),
    "303-decimal": (303, "http://2130706433:{port}", b""),
    "307-v6": (307, "http://[::1]:{port}", b""),
    "308-localhost": (308, "http://localhost:{port}", b""),
    "scheme-relative": (302, "//127.0.0.2:{port}", b""),
    "hex": (302, "http://0x7f000001:{port}", b""),
    "v4-mapped": (302, "http://[::ffff:127.0.0.1]:{port}", b""),
    "userinfo": (302, "http://user@127.0.0.1:{port}", b""),
    "unspecified": (302, "http://0.0.0.0:{port}", b""),
    "trailing-dot": (302, "http://127.0.0.1.:{port}", b""),
    "ftp": (302, "ftp://127.0.0.1:{port}", b""),
    "gopher": (302, "gopher://127.0.0.1:{port}", b""),
    "file": (302, "file:///etc/passwd", b""),
    "metadata": (302, "http://169.254.169.254/latest/meta-data", b""),
    "chain": (302, "/trick/chain-2", b""),
    "tab-in-host": (302, "http://127.0.\t0.1:{port}", b""),
    "leading-space": (302, " http://127.0.0.1:{port}", b""),
    "meta-refresh": (
        200,
        None,
        b'<html><head><meta http-equiv="refresh" content="0; url=http://127.0.0.1:{port}/hit/meta-refresh">'
        b"</head><body>exosome</body></html>",
    ),
    "refresh-header": (200, "REFRESH", b"<html><body>exosome</body></html>"),
}
HOPS = {"chain-2": (302, "/trick/chain-3", b""), "chain-3": (302, "http://127.0.0.1:{port}/hit/chain", b"")}


def spelled(template: str, name: str, ports: dict[str, int]) -> str:
    return template.format(**ports) + f"/ssrf/{name}"


def _routes(ports: dict[str, int]) -> dict[str, Route]:
    routes = {"/robots.txt": Route(status=404, body=b""), "/ssrf/encoded-slash-userinfo": Route(body=OFFER)}
    for name, (status, location, body) in {**TRICKS, **HOPS}.items():
        body = body.replace(b"{port}", str(ports["port"]).encode())
        if location == "REFRESH":
            headers = (("Refresh", f"0; url=http://127.0.0.1:{ports['port']}/hit/{name}"),)
            routes[f"/trick/{name}"] = Route(status=status, body=body, headers=headers)
        elif location is None:
            routes[f"/trick/{name}"] = Route(status=status, body=body)
        else:
            target = location.format(**ports)
            if name in TRICKS and not location.startswith(("/", "file:")):
                target += f"/hit/{name}"
            routes[f"/trick/{name}"] = redirect(target, status)
    return routes


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """The tripwire, the site, one crawl over every URL, and a config for check-page."""
    wire = Tripwire()
    site = ReplayServer({})
    ports = {"port": wire.port, "site": site.port}
    site.routes.update(_routes(ports))
    folder = tmp_path_factory.mktemp("ssrf")
    config = folder / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{folder}/x.db"\n\n[crawl]\nallow_hosts = {json.dumps([site.netloc])}\n',
        encoding="utf-8",
    )
    urls = {name: spelled(t, name, ports) for name, t in {**SPELLINGS, **ALLOWED}.items()}
    urls |= {f"trick:{name}": site.url(f"/trick/{name}") for name in TRICKS}
    with site:
        crawl = run_crawl(
            {
                "allow_hosts": [site.netloc],
                "overrides": {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0, "DOWNLOAD_TIMEOUT": 20},
                "start_urls": list(urls.values()),
                "meta": {},
                "rebinding": {},
                "after_failure": {},
            },
            folder,
        )
        yield {"wire": wire, "site": site, "ports": ports, "urls": urls, "crawl": crawl, "config": str(config)}
    wire.close()


def _check_page(world, url: str, capsys) -> tuple[int, str]:
    code = main(["--config", world["config"], "check-page", url, "--json"])
    captured = capsys.readouterr()
    return code, captured.err.strip()


def _fetched_by_crawl(world, marker: str) -> list[str]:
    return [page["url"] for page in world["crawl"]["fetched"] if marker in page["url"]]


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_a_spelled_forbidden_address_is_refused_by_check_page(world, name, probe, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    code, error = _check_page(world, world["urls"][name], capsys)
    assert probe.forbidden(world["wire"].count(f"/ssrf/{name} ")) == 0
    assert code == 2 and error and "\n" not in error, (code, error)


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_a_spelled_forbidden_address_is_refused_by_the_crawl(world, name, probe):
    assert probe.forbidden(world["wire"].count(f"/ssrf/{name} ")) == 0
    assert _fetched_by_crawl(world, f"/ssrf/{name}") == []


def test_userinfo_that_looks_like_a_port_is_not_taken_for_one(world, probe, monkeypatch, capsys):
    """The control: the URL's host is the allow-listed site. check-page fetches it from there;
    the crawl does not fetch it at all (Scrapy builds the robots.txt URL with the userinfo in it
    and cannot parse that host, so robots.txt is unreachable and the host disallowed)."""
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    url = world["urls"]["encoded-slash-userinfo"]
    code, error = _check_page(world, url, capsys)
    assert code == 0, error
    assert world["site"].requests.count("/ssrf/encoded-slash-userinfo") == 1
    [failure] = [f for f in world["crawl"]["failures"] if "/ssrf/encoded-slash-userinfo" in f["url"]]
    assert failure["message"].startswith("robots.txt unreachable (ValueError: invalid hostname")
    assert probe.forbidden(world["wire"].count("/ssrf/encoded-slash-userinfo")) == 0


@pytest.mark.parametrize("name", sorted(TRICKS))
def test_a_redirect_trick_is_refused_by_check_page(world, name, probe, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    code, error = _check_page(world, world["urls"][f"trick:{name}"], capsys)
    assert probe.forbidden(world["wire"].count(f"/hit/{name}")) == 0
    if TRICKS[name][0] == 200:  # a refresh is not a redirect: the page itself is judged
        assert code == 0, error
    else:
        assert code == 2 and error and "\n" not in error, (code, error)


@pytest.mark.parametrize("name", sorted(TRICKS))
def test_a_redirect_trick_is_refused_by_the_crawl(world, name, probe):
    assert probe.forbidden(world["wire"].count(f"/hit/{name}")) == 0
    assert _fetched_by_crawl(world, f"/hit/{name}") == []


def test_nothing_reached_the_tripwire_at_all(world, probe):
    """Connections no probe above could name: no request line, or a path none of them used
    (robots.txt on a forbidden host, say)."""
    hits = world["wire"].hits
    named = [line for _address, line in hits if "/ssrf/" in line or "/hit/" in line]
    assert probe.forbidden(len(hits) - len(named)) == 0, hits


def test_the_crawl_ran_to_its_end_without_errors(world):
    crawl = world["crawl"]
    assert crawl["stats"]["finish_reason"] == "finished"
    assert crawl["warnings"] == []
    assert "spider_exceptions/count" not in crawl["stats"], crawl["log"][-3000:]


def test_the_tripwire_counts_what_reaches_it(tmp_path: Path):
    """The instrument itself: a connection to each of its addresses is counted with its request."""
    import socket

    wire = Tripwire()
    addresses = wire.addresses
    try:
        for address in addresses:
            with socket.create_connection((address, wire.port), timeout=5) as connection:
                connection.sendall(b"GET /counted HTTP/1.1\r\n\r\n")
                connection.recv(1)  # returns when the tripwire closes the connection
    finally:
        assert wire.close() == len(addresses) >= 2
    assert wire.count("/counted") == len(addresses)
