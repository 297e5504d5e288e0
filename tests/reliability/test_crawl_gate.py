"""The URL gate and the size limits in a real Scrapy crawl, run in a child process.

Twisted's reactor cannot restart inside pytest, so the crawl runs the script CHILD (written to a
temporary file: Scrapy reads a callback's source) in a child process, with the hardened settings
of crawler.settings. The child prints its stats, the pages it fetched, the
failures its errback saw and every warning raised in it as one JSON line on stdout.

Servers on loopback: ``site`` (allow-listed as host:port) serves pages, redirects and oversized
bodies; ``robots_5xx`` and ``robots_down`` (allow-listed) answer robots.txt with 503 or by hanging
up; ``trap_other_port`` (127.0.0.1, another port, not allow-listed) and ``trap_127_0_0_2``
(127.0.0.2, not allow-listed) must never see a request. 10.0.0.1, 169.254.169.254 and 100.64.0.1
are never contacted: the downloader's request count covers only the requests to our servers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.httpserver import ReplayServer, Route, redirect

REPO = Path(__file__).resolve().parents[2]
MAXSIZE = 64 * 1024
BIG = b"<html><body>" + b"x" * (4 * MAXSIZE) + b"</body></html>"
HUGE_GZIP = b"<html><body>" + b"z" * (16 * MAXSIZE) + b"</body></html>"  # compresses to ~1 KiB

CHILD = r"""
import json, logging, sys, warnings

caught = []
warnings.simplefilter("always")
warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: caught.append(
    f"{category.__name__}: {message} ({filename}:{lineno})"
)


class _WarningLog(logging.Handler):  # Scrapy routes warnings to the py.warnings logger
    def emit(self, record):
        caught.append(record.getMessage())


logging.getLogger("py.warnings").addHandler(_WarningLog())

import scrapy
import scrapy.resolver
from scrapy.crawler import AsyncCrawlerProcess

import crawler.middlewares
from crawler.settings import crawl_settings
from crawler.urlgate import UrlGate, resolve_host

config = json.loads(sys.argv[1])
fetched, failures = [], []

# DNS rebinding, simulated without DNS: the gate's lookup of a name answers a public address, the
# lookup the download makes (Scrapy's resolver cache, seeded here) answers loopback.
rebinding = config["rebinding"]
for name, answers in rebinding.items():
    scrapy.resolver.dnscache[name] = answers["connect"]


def gate_resolver(host):
    return rebinding[host]["gate"] if host in rebinding else resolve_host(host)


crawler.middlewares.gate_from_settings = lambda settings: UrlGate(
    frozenset(settings.getlist("EXOWATCH_ALLOW_HOSTS")), resolver=gate_resolver
)


class GateProbe(scrapy.Spider):
    name = "gate_probe"

    async def start(self):
        for url in config["start_urls"]:
            meta = config["meta"].get(url, {})
            yield scrapy.Request(url, callback=self.parse, errback=self.failed, dont_filter=True, meta=meta)

    def parse(self, response):
        fetched.append(
            {
                "url": response.url,
                "size": len(response.body),
                "redirect_urls": response.request.meta.get("redirect_urls", []),
            }
        )

    def failed(self, failure):
        request = failure.request
        failures.append(
            {
                "url": request.url,
                "type": failure.type.__name__,
                "message": str(failure.value),
                "redirect_urls": request.meta.get("redirect_urls", []),
            }
        )
        then = config["after_failure"].get(request.url)
        if then:
            yield scrapy.Request(then, callback=self.parse, errback=self.failed, dont_filter=True)


settings = crawl_settings(
    user_agent_contact="tests@example.org",
    allow_hosts=tuple(config["allow_hosts"]),
    overrides=config["overrides"],
)
process = AsyncCrawlerProcess(settings)
crawler = process.create_crawler(GateProbe)
process.crawl(crawler)
process.start()
result = {"stats": crawler.stats.get_stats(), "fetched": fetched, "failures": failures, "warnings": caught}
print(json.dumps(result, default=str))
"""


def run_crawl(config: dict, workdir: Path) -> dict:
    script = workdir / "gate_probe.py"
    script.write_text(CHILD, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, str(script), json.dumps(config)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-5000:]
    result = json.loads(lines[-1])
    result["log"] = done.stderr
    return result


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One crawl over every case; the tests below read its outcome."""
    trap_other_port = ReplayServer({}, host="127.0.0.1")
    trap_127_0_0_2 = ReplayServer({}, host="127.0.0.2")
    robots_5xx = ReplayServer({"/robots.txt": Route(status=503, body=b"down"), "/page": Route(body=b"no")})
    robots_down = ReplayServer({"/robots.txt": Route(abort=True), "/page": Route(body=b"no")})
    site = ReplayServer(
        {
            "/robots.txt": Route(status=404, body=b"<html>Disallow: /</html>"),
            "/ok": Route(body=b"<html>ok</html>"),
            "/redirect/ok": redirect("/ok2"),
            "/ok2": Route(body=b"<html>ok2</html>"),
            "/redirect/metadata": redirect("http://169.254.169.254/latest/meta-data/"),
            "/redirect/private": redirect("http://10.0.0.1/"),
            "/redirect/cgnat": redirect("http://100.64.0.1/"),
            "/redirect/loopback-other-port": redirect(trap_other_port.url("/secret")),
            "/redirect/loopback-127.0.0.2": redirect(trap_127_0_0_2.url("/secret")),
            "/redirect/file": redirect("file:///etc/passwd"),
            "/big/content-length": Route(body=BIG),
            "/big/chunked": Route(body=BIG, chunked=True),
            "/big/gzip": Route(body=HUGE_GZIP, gzip=True),
            "/small/gzip": Route(body=b"<html>" + b"s" * 5000 + b"</html>", gzip=True),
            "/after/content-length": Route(body=b"<html>after</html>"),
            "/after/chunked": Route(body=b"<html>after</html>"),
            "/after/gzip": Route(body=b"<html>after</html>"),
        }
    )
    servers = [trap_other_port, trap_127_0_0_2, robots_5xx, robots_down, site]
    for server in servers:
        server.__enter__()
    try:
        config = {
            "allow_hosts": [site.netloc, robots_5xx.netloc, robots_down.netloc],
            "overrides": {
                "AUTOTHROTTLE_ENABLED": False,
                "DOWNLOAD_DELAY": 0,
                "DOWNLOAD_MAXSIZE": MAXSIZE,
                "DOWNLOAD_WARNSIZE": MAXSIZE // 2,
                "DOWNLOAD_TIMEOUT": 20,
            },
            "start_urls": [
                site.url("/ok"),
                site.url("/redirect/ok"),
                # refused directly
                trap_other_port.url("/direct"),
                "http://10.0.0.1/",
                "http://169.254.169.254/latest/meta-data/",
                "http://100.64.0.1/",
                "file:///etc/passwd",
                f"http://localhost:{site.port}/ok",  # resolved (in a thread) to loopback
                # refused on a redirect hop
                site.url("/redirect/metadata"),
                site.url("/redirect/private"),
                site.url("/redirect/cgnat"),
                site.url("/redirect/loopback-other-port"),
                site.url("/redirect/loopback-127.0.0.2"),
                site.url("/redirect/file"),
                # cut by DOWNLOAD_MAXSIZE; the errback then asks for the next page
                site.url("/big/content-length"),
                site.url("/big/chunked"),
                site.url("/big/gzip"),
                site.url("/small/gzip"),
                # robots.txt unreachable
                robots_5xx.url("/page"),
                robots_down.url("/page"),
                # the gate's lookup says public, the download's lookup says loopback
                f"http://rebind.test:{trap_other_port.port}/rebound",
            ],
            "meta": {f"http://rebind.test:{trap_other_port.port}/rebound": {"dont_obey_robotstxt": True}},
            "rebinding": {"rebind.test": {"gate": ["93.184.216.34"], "connect": "127.0.0.1"}},
            "after_failure": {
                site.url(f"/big/{case}"): site.url(f"/after/{case}")
                for case in ("content-length", "chunked", "gzip")
            },
        }
        result = run_crawl(config, tmp_path_factory.mktemp("gate"))
    finally:
        for server in reversed(servers):
            server.__exit__(None, None, None)
    result["servers"] = {
        "site": site,
        "trap_other_port": trap_other_port,
        "trap_127_0_0_2": trap_127_0_0_2,
        "robots_5xx": robots_5xx,
        "robots_down": robots_down,
    }
    return result


def _paths(result: dict, server: str) -> list[str]:
    return sorted(result["servers"][server].requests)


def test_the_crawl_finishes_without_warnings(crawl: dict) -> None:
    assert crawl["stats"]["finish_reason"] == "finished"
    assert crawl["warnings"] == []
    assert "spider_exceptions/count" not in crawl["stats"], crawl["log"][-5000:]
    assert "Spider error" not in crawl["log"]


def test_allow_listed_replay_host_is_fetched_and_redirects_within_it_work(crawl: dict) -> None:
    site = crawl["servers"]["site"]
    fetched = {page["url"]: page for page in crawl["fetched"]}
    assert site.url("/ok") in fetched
    assert fetched[site.url("/ok2")]["redirect_urls"] == [site.url("/redirect/ok")]
    assert fetched[site.url("/small/gzip")]["size"] == 5013


def test_refused_urls_are_counted_by_kind(crawl: dict) -> None:
    stats = crawl["stats"]
    assert stats["urlgate/refused"] == 12
    assert stats["urlgate/refused/loopback"] == 4
    assert stats["urlgate/refused/private"] == 2
    assert stats["urlgate/refused/metadata"] == 2
    assert stats["urlgate/refused/cgnat"] == 2
    assert stats["urlgate/refused/scheme"] == 2
    assert crawl["log"].count("URL gate refused http") == 10
    assert crawl["log"].count("URL gate refused file") == 2


def test_redirect_hops_to_refused_addresses_are_refused_by_the_gate(crawl: dict) -> None:
    site = crawl["servers"]["site"]
    refused_hops = {
        f["url"]: f["message"]
        for f in crawl["failures"]
        if f["type"] == "IgnoreRequest" and f["redirect_urls"]
    }
    assert refused_hops == {
        "http://169.254.169.254/latest/meta-data/": "URL gate refused http://169.254.169.254/latest/meta-data/: "
        "169.254.169.254 is cloud metadata",
        "http://10.0.0.1/": "URL gate refused http://10.0.0.1/: 10.0.0.1 is private",
        "http://100.64.0.1/": "URL gate refused http://100.64.0.1/: 100.64.0.1 is CGNAT (100.64.0.0/10)",
        crawl["servers"]["trap_other_port"].url(
            "/secret"
        ): f"URL gate refused {crawl['servers']['trap_other_port'].url('/secret')}: 127.0.0.1 is loopback",
        crawl["servers"]["trap_127_0_0_2"].url(
            "/secret"
        ): f"URL gate refused {crawl['servers']['trap_127_0_0_2'].url('/secret')}: 127.0.0.2 is loopback",
    }
    # The redirect to file: is not followed (Scrapy returns the 302, the spider sees an HttpError).
    to_file = [f for f in crawl["failures"] if f["url"] == site.url("/redirect/file")]
    assert [f["type"] for f in to_file] == ["HttpError"]
    assert "URL gate refused file:///etc/passwd (redirect from " in crawl["log"]


def test_refused_addresses_are_never_contacted(crawl: dict, probe) -> None:
    contacted = _paths(crawl, "trap_other_port") + _paths(crawl, "trap_127_0_0_2")
    assert probe.forbidden(len(contacted)) == 0, contacted
    stats = crawl["stats"]
    exceptions = {k: v for k, v in stats.items() if k.startswith("downloader/exception_type_count/")}
    assert set(exceptions) <= {
        "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest",  # the gate, robots.txt
        "downloader/exception_type_count/scrapy.exceptions.DownloadCancelledError",
        "downloader/exception_type_count/scrapy.exceptions.DownloadFailedError",  # robots_down
        "downloader/exception_type_count/scrapy.exceptions.CannotResolveHostError",  # rebind.test
    }
    # Every request that reached the downloader reached one of our servers, but for the three
    # attempts on rebind.test that failed at its DNS lookup.
    served = sum(len(server.requests) for server in crawl["servers"].values())
    unresolved = stats["downloader/exception_type_count/scrapy.exceptions.CannotResolveHostError"]
    assert unresolved == 3
    assert stats["downloader/request_count"] == served + unresolved


def test_oversized_responses_are_cut_and_the_crawl_goes_on(crawl: dict) -> None:
    site = crawl["servers"]["site"]
    failures = {f["url"]: f for f in crawl["failures"]}
    assert failures[site.url("/big/content-length")]["type"] == "DownloadCancelledError"
    assert failures[site.url("/big/chunked")]["type"] == "DownloadCancelledError"
    assert failures[site.url("/big/gzip")]["type"] == "IgnoreRequest"
    assert "exceeded DOWNLOAD_MAXSIZE" in failures[site.url("/big/gzip")]["message"]
    fetched = {page["url"] for page in crawl["fetched"]}
    assert {site.url(f"/after/{case}") for case in ("content-length", "chunked", "gzip")} <= fetched
    stats = crawl["stats"]
    assert stats["sizelimit/cut"] == 3
    assert stats["sizelimit/cut/transfer"] == 2
    assert stats["sizelimit/cut/decompressed"] == 1
    # The cut downloads were not retried.
    assert _paths(crawl, "site").count("/big/chunked") == 1
    assert _paths(crawl, "site").count("/big/content-length") == 1


def test_robots_txt_unreachable_disallows_the_host(crawl: dict) -> None:
    stats = crawl["stats"]
    assert stats["robotstxt/unreachable_disallow"] == 2
    assert stats["robotstxt/forbidden"] == 2
    assert set(_paths(crawl, "robots_5xx")) == {"/robots.txt"}  # retried, then disallow
    assert len(_paths(crawl, "robots_5xx")) == 3
    assert set(_paths(crawl, "robots_down")) == {"/robots.txt"}
    # A 404 robots.txt allows everything, whatever its body says.
    assert _paths(crawl, "site").count("/robots.txt") == 1
    # The pages' failures say why: robots.txt could not be read, not that the site forbids us.
    reasons = {
        f["url"]: f["message"]
        for f in crawl["failures"]
        if f["url"] in (crawl["servers"]["robots_5xx"].url("/page"), crawl["servers"]["robots_down"].url("/page"))
    }
    assert len(reasons) == 2 and all(m.startswith("robots.txt unreachable (") for m in reasons.values())
    assert "(HTTP 5" in reasons[crawl["servers"]["robots_5xx"].url("/page")]
    assert "Error" in reasons[crawl["servers"]["robots_down"].url("/page")]  # the network error's type
    assert "Forbidden by robots.txt" not in str(reasons)


def test_a_host_name_is_resolved_and_its_addresses_checked(crawl: dict) -> None:
    port = crawl["servers"]["site"].port
    [failure] = [f for f in crawl["failures"] if f["url"] == f"http://localhost:{port}/ok"]
    assert failure["type"] == "IgnoreRequest"
    assert f"URL gate refused http://localhost:{port}/ok: localhost resolves to " in failure["message"]
    assert failure["message"].endswith("which is loopback")


def test_dns_rebinding_is_refused_at_connect_time(crawl: dict) -> None:  # counted just above
    port = crawl["servers"]["trap_other_port"].port
    [failure] = [f for f in crawl["failures"] if f["url"] == f"http://rebind.test:{port}/rebound"]
    assert failure["type"] == "CannotResolveHostError"
    assert (
        "URL gate refused to connect to rebind.test: rebind.test resolves to 127.0.0.1, which is loopback"
        in crawl["log"]
    )
    assert _paths(crawl, "trap_other_port") == []


def test_a_proxy_that_is_down_is_named_not_taken_for_robots_txt(tmp_path: Path) -> None:
    """With `[crawl] proxy` pointing at a port nothing listens on, a page fails because its
    robots.txt could not be read through that proxy; it is not "Forbidden by robots.txt"."""
    import socket

    with socket.socket() as probe:  # a loopback port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        proxy_port = probe.getsockname()[1]
    with ReplayServer({"/page": Route(body=b"ok")}) as site:
        config = {
            "allow_hosts": [f"127.0.0.1:{site.port}", f"127.0.0.1:{proxy_port}"],
            "overrides": {"EXOWATCH_PROXY": f"http://127.0.0.1:{proxy_port}", "RETRY_TIMES": 0},
            "start_urls": [site.url("/page")],
            "meta": {},
            "rebinding": {},
            "after_failure": {},
        }
        result = run_crawl(config, tmp_path)
    [failure] = result["failures"]
    assert failure["message"].startswith("robots.txt unreachable (")
    assert f"through the proxy http://127.0.0.1:{proxy_port}" in failure["message"]
    assert "Forbidden by robots.txt" not in failure["message"]
    assert site.requests == []  # nothing reached the site: the proxy was the way, and it was down
