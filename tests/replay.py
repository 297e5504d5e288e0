"""A replay HTTP server on loopback: saved responses at their original paths.

Routes map a path to a handler that gets the query and returns (status, headers, body), so a test
can serve saved files, generate a listing page from saved rows, or swap a response between two
crawls. Started on a free port before the test's crawl; `requests` records what was asked.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], bytes]
Handler = Callable[[dict[str, str]], Answer]


def static(body: bytes, content_type: str = "text/html; charset=utf-8", status: int = 200) -> Handler:
    return lambda _query: (status, {"Content-Type": content_type}, body)


def saved_file(path: Path, content_type: str = "text/html; charset=utf-8") -> Handler:
    return static(path.read_bytes(), content_type)


class _Server(ThreadingHTTPServer):
    # The listen backlog, read when the socket starts listening (in __init__): at the default 5, a
    # crawler opening more connections at once loses SYNs and waits a second for the retry.
    request_queue_size = 128


class ReplayServer:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {"/robots.txt": static(b"User-agent: *\nAllow: /\n", "text/plain")}
        self.requests: list[str] = []
        replay = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                parts = urlsplit(self.path)
                self._answer(parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()})

            def do_POST(self) -> None:  # noqa: N802 - a form post: its fields are the handler's query
                parts = urlsplit(self.path)
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
                self._answer(parts.path, {k: v[-1] for k, v in form.items()})

            def _answer(self, path: str, query: dict[str, str]) -> None:
                replay.requests.append(self.path)
                handler = replay.routes.get(path)
                status, headers, body = (
                    handler(query) if handler else (404, {"Content-Type": "text/plain"}, b"no")
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def replay_config_head(server: ReplayServer, database_url: str, **crawl: object) -> str:
    """The [database] and [crawl] tables for crawling `server`: allow-listed, no delays, no
    retries unless `crawl` says; callers append their [sources.*] table."""
    settings = {
        "allow_hosts": [server.host],
        "retries": 0,
        "retry_backoff_seconds": 0,
        "download_delay_seconds": 0,
        "autothrottle": False,
        **crawl,
    }
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())
    return f'[database]\nurl = "{database_url}"\n\n[crawl]\n{lines}\n'
