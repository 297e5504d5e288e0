"""Through an HTTP proxy every request connects to one host:port, the proxy's. Scrapy keeps
CONCURRENT_REQUESTS_PER_DOMAIN idle connections per host:port (1 here, for politeness per site),
so it used to close nearly every connection to the proxy after its answer and open a new one
for the next request. crawler.handlers keeps one per request in flight: a crawl of 12 sites,
8 at a time, through a keep-alive proxy opens about as many connections as it has in flight."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.reliability.test_crawl_gate import run_crawl

SITES, PAGES, IN_FLIGHT = 12, 6, 8


class CountingProxy(ThreadingHTTPServer):
    """A keep-alive HTTP/1.1 forward proxy answering every absolute URL with a small page; it
    counts the TCP connections it accepts and the requests it answers."""

    daemon_threads = True

    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with proxy.lock:
                    proxy.requests += 1
                status, body = (404, b"") if self.path.endswith("/robots.txt") else (200, b"<html>ok</html>")
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def verify_request(self, request, client_address) -> bool:
        with self.lock:
            self.connections += 1
        return True


def test_connections_to_a_proxy_are_kept_alive_for_every_request_in_flight(tmp_path):
    proxy = CountingProxy()
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    host = f"127.0.0.1:{proxy.server_address[1]}"
    urls = [f"http://site-{s}.example/page-{p}" for s in range(SITES) for p in range(PAGES)]
    try:
        result = run_crawl(
            {
                "allow_hosts": ["*.example", host],
                "overrides": {
                    "EXOWATCH_PROXY": f"http://{host}",
                    "AUTOTHROTTLE_ENABLED": False,
                    "DOWNLOAD_DELAY": 0,
                    "CONCURRENT_REQUESTS": IN_FLIGHT,
                    "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
                },
                "start_urls": urls,
                "meta": {},
                "rebinding": {},
                "after_failure": {},
            },
            tmp_path,
        )
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert len(result["fetched"]) == len(urls), result["failures"][:3]
    assert proxy.requests == len(urls) + SITES  # each page, and each site's robots.txt
    # at most one connection per request in flight, and a few more for the ends of the crawl
    assert proxy.connections <= 2 * IN_FLIGHT, (proxy.connections, proxy.requests)
