"""`exowatch serve-feed`: serve the channels' RSS and Atom files over HTTP.

Only the files the feed channels write are served (`/<name>.rss.xml`, `/<name>.atom.xml`), with
their content types; anything else is 404. No directory listing, GET and HEAD only; the address
comes from `[serve]` in config.toml (loopback by default: put a reverse proxy with TLS in front).
"""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from monitor.config import Config

TYPES = {".rss.xml": "application/rss+xml; charset=utf-8", ".atom.xml": "application/atom+xml; charset=utf-8"}


def feed_files(config: Config, base_dir: Path) -> dict[str, tuple[Path, str]]:
    """URL path -> (file, content type) for every feed channel."""
    files = {}
    for channel in config.channels:
        if channel.kind != "feed":
            continue
        for suffix, kind in TYPES.items():
            files[f"/{channel.name}{suffix}"] = (
                (base_dir / channel.feed_dir / f"{channel.name}{suffix}"),
                kind,
            )
    return files


def make_server(config: Config, base_dir: Path, host: str, port: int) -> ThreadingHTTPServer:
    files = feed_files(config, base_dir)

    class Handler(BaseHTTPRequestHandler):
        server_version = "exowatch"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._answer(body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(body=False)

        def _answer(self, body: bool) -> None:
            found = files.get(urlsplit(self.path).path)
            data = found[0].read_bytes() if found and found[0].is_file() else None
            if data is None:
                self.send_response(404)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", "10")
                self.end_headers()
                if body:
                    self.wfile.write(b"not found\n")
                return
            self.send_response(200)
            self.send_header("Content-Type", found[1])
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
