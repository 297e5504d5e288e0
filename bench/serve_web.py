"""Serve a generated web of clinic sites through one HTTP proxy port: `python bench/serve_web.py SITES PAGES`.

Site i is `http://clinic-<i>.example/`: a home page whose menu links PAGES - 1 treatment pages
(`/treatments/<k>`), each about 8 KB of ordinary clinic prose, price tables and chrome (a menu,
a cookie banner, a footer, scripts), and robots.txt. Pages are made from their URL, the same
bytes every time (so they carry a stable ETag). A process of its own, so that the server does not
take the crawler's CPU. Prints its port, then serves until killed.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

TREATMENTS = (
    "Exosome facial", "PRP hair restoration", "Microneedling", "Chemical peel", "IV vitamin drip",
    "Laser hair removal", "Botox", "Dermal fillers", "Skin booster", "Hydrafacial", "LED therapy",
    "Scalp therapy", "Anti-aging serum", "Body contouring", "Acne treatment", "Pigmentation care",
    "Stem cell consultation", "Regenerative skin program", "Lip filler",
)  # fmt: skip


def page(host: str, path: str, pages: int) -> bytes | None:
    if path == "/robots.txt":
        return b"User-agent: *\nAllow: /\n"
    links = "".join(
        f'<li><a href="/treatments/{k}">{TREATMENTS[k % len(TREATMENTS)]} treatment {k}</a></li>'
        for k in range(1, pages)
    )
    if path == "/":
        title, k = f"{host} - Aesthetics and wellness", 0
    elif path.startswith("/treatments/") and path.rsplit("/", 1)[1].isdigit():
        k = int(path.rsplit("/", 1)[1])
        if not 1 <= k < pages:
            return None
        title = f"{TREATMENTS[k % len(TREATMENTS)]} treatment {k} | {host}"
    else:
        return None
    seed = hashlib.sha256(f"{host}{path}".encode()).hexdigest()
    rows = "".join(
        f"<tr><td>{TREATMENTS[(k + r) % len(TREATMENTS)]} session {r}</td><td>${150 + 25 * r}</td></tr>"
        for r in range(12)
    )
    prose = "".join(
        f"<p>Our {TREATMENTS[(k + r) % len(TREATMENTS)].lower()} program ({seed[r : r + 8]}) is "
        "planned after a consultation with our licensed practitioners, who explain the expected "
        "results, the recovery time and the aftercare. Results vary from person to person; several "
        "sessions may be recommended.</p>"
        for r in range(20)
    )
    body = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="/assets/site.css"><script>window.dataLayer=[];</script></head><body>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept</button></div>
<header class="site-header"><a href="/">{host}</a><nav class="menu"><ul>{links}
<li><a href="/about">About</a></li><li><a href="/careers">Careers</a></li></ul></nav></header>
<main><h1>{title}</h1>{prose}<table class="prices">{rows}</table></main>
<footer class="site-footer"><p>Call us at +1 212 555 {k:04d}. Open Monday to Saturday.</p>
<a href="https://social.example/{host}">Instagram</a></footer>
<script src="/assets/app.js"></script></body></html>"""
    return body.encode("utf-8")


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # read when it starts listening: see tests/replay.py


def main() -> None:
    pages = int(sys.argv[2])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            parts = urlsplit(self.path)
            body = page(parts.hostname or "", parts.path or "/", pages)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            kind = "text/plain" if parts.path == "/robots.txt" else "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    # Keep-alive, as real sites answer (see bench/serve_site.py for why HTTP/1.0 misled).
    Handler.protocol_version = "HTTP/1.1"
    Handler.disable_nagle_algorithm = True
    server = _Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
