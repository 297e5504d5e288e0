"""A tiny threaded HTTP/1.1 server on loopback for tests.

The socket is bound and listening when the constructor returns, so a client may connect at once:
no sleeps. Each path maps to a Route; every request received is recorded in ``requests``.
"""

from __future__ import annotations

import gzip
import socketserver
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["ReplayServer", "Route", "redirect"]


@dataclass(frozen=True)
class Route:
    """What the server answers on one path.

    ``chunked`` sends the body with Transfer-Encoding: chunked (no Content-Length); ``gzip``
    compresses it (Content-Encoding: gzip); ``abort`` closes the connection without an answer.
    """

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html; charset=utf-8"),)
    chunked: bool = False
    gzip: bool = False
    abort: bool = False


def redirect(location: str, status: int = 302) -> Route:
    """A redirect to `location`."""
    return Route(status=status, headers=(("Location", location),))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (getfqdn): no DNS in tests.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request, client_address) -> None:  # the client hung up: expected
        pass


class ReplayServer:
    """Serves `routes` on `host` at a free port; use as a context manager to run it."""

    def __init__(self, routes: dict[str, Route], host: str = "127.0.0.1"):
        self.routes = dict(routes)
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server = _Server((host, 0), self._handler_class())
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.netloc}{path}"

    def __enter__(self) -> ReplayServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                with server._lock:
                    server.requests.append(self.path)
                route = server.routes.get(self.path, Route(status=404, body=b"not found"))
                if route.abort:
                    self.close_connection = True
                    return
                body = gzip.compress(route.body, mtime=0) if route.gzip else route.body
                try:
                    self.send_response(route.status)
                    for name, value in route.headers:
                        self.send_header(name, value)
                    if route.gzip:
                        self.send_header("Content-Encoding", "gzip")
                    self.send_header("Connection", "close")
                    if route.chunked:
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        for start in range(0, len(body), 16384):
                            chunk = body[start : start + 16384]
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.write(b"0\r\n\r\n")
                    else:
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        for start in range(0, len(body), 16384):
                            self.wfile.write(body[start : start + 16384])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client cut the download
                self.close_connection = True

        return Handler
