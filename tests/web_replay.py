"""A replayed web of many sites behind one loopback port: an HTTP forward proxy that answers from
saved responses (tests/fixtures/clinics/web/manifest.json), by the absolute URL it is asked for.

The crawler reaches it through `[crawl] proxy`, so pages keep their own URLs (http://glow.example/)
and no name ever needs resolving. `mount(host)` adds a whole site answered by route handlers (as
tests.replay.ReplayServer's), e.g. the replayed fda.gov with its generated listing: then every
source of a config, FDA's and the clinics', crawls through one proxy. Like a real server it sends ETag and Last-Modified and answers a
conditional GET that still matches with 304 Not Modified; `log` records every request as
(url, status, conditional), so a test can count what a re-crawl downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from tests.replay import Handler, static

CLINICS = Path(__file__).parent / "fixtures" / "clinics"
LAST_MODIFIED = "Tue, 03 Sep 2024 10:00:00 GMT"


def _key(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


class WebReplay:
    def __init__(self, manifest: Path = CLINICS / "web" / "manifest.json") -> None:
        self.root = manifest.parent.parent
        self.answers: dict[str, dict] = {}
        for entry in json.loads(manifest.read_text("utf-8")):
            self.answers[_key(entry["url"])] = entry
        self.overrides: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.sites: dict[str, MountedSite] = {}
        self.log: list[tuple[str, int, bool]] = []
        replay = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                status, headers, body = replay.answer(self.path, self.headers)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(body)  # the crawler may cut a huge body short

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def mount(self, host: str) -> MountedSite:
        """A site at http://`host`/ answered by its routes (path -> handler of the query)."""
        site = self.sites[host.lower()] = MountedSite()
        return site

    def answer(self, url: str, request_headers) -> tuple[int, dict[str, str], bytes]:
        key = _key(url)
        conditional = bool(request_headers.get("If-None-Match") or request_headers.get("If-Modified-Since"))
        parts = urlsplit(key)
        site = self.sites.get(parts.netloc)
        if key in self.overrides:
            status, headers, body = self.overrides[key]
        elif site is not None:
            handler = site.routes.get(parts.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            status, headers, body = (
                handler(query) if handler else (404, {"Content-Type": "text/plain"}, b"no")
            )
        else:
            entry = self.answers.get(key)
            if entry is None:
                self.log.append((key, 404, conditional))
                return 404, {"Content-Type": "text/plain"}, b"not in the replay"
            status, headers = entry.get("status", 200), dict(entry.get("headers", {}))
            if "generate" in entry:
                body = _generated(entry["generate"])
            elif "file" in entry:
                body = (self.root / entry["file"]).read_bytes()
            else:
                body = b""
        if status == 200:
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            headers = {**headers, "ETag": etag, "Last-Modified": LAST_MODIFIED}
            if request_headers.get("If-None-Match") == etag:
                self.log.append((key, 304, conditional))
                return 304, {"ETag": etag}, b""
        self.log.append((key, status, conditional))
        return status, headers, body

    def __enter__(self) -> WebReplay:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class MountedSite:
    """The routes of one mounted site; it allows every robot, like tests.replay.ReplayServer."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {"/robots.txt": static(b"User-agent: *\nAllow: /\n", "text/plain")}


def _generated(spec: dict) -> bytes:
    if spec.get("kind") == "huge":
        size = int(spec.get("bytes", 20_000_000))
        row = b"<p>Full treatment menu: facials, peels, laser, injectables, and more. </p>\n"
        head = b"<!DOCTYPE html><html><head><title>Full menu</title></head><body>"
        return head + row * ((size - len(head)) // len(row) + 1) + b"</body></html>"
    raise ValueError(f"unknown generated body {spec!r}")
