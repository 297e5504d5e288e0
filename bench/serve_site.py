"""Serve a benchmark's replayed fda.gov from its own process: `python bench/serve_site.py DIR`.

DIR holds listing.json (the listing rows) and pages/<slug>.html. The server prints its port on
stdout, then serves until it is killed. A process of its own, so that it does not take the
crawler's CPU (or GIL) in the measurement; HTTP/1.1 with keep-alive, as fda.gov serves.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.normalize.letters import LETTERS_PATH  # noqa: E402
from crawler.spiders.fda_warning_letters import LISTING_AJAX_PATH  # noqa: E402
from tests.fda_site import ListedLetter, listing_answer  # noqa: E402
from tests.replay import ReplayServer, saved_file  # noqa: E402


def main() -> None:
    site = Path(sys.argv[1])
    letters = [ListedLetter(**row) for row in json.loads((site / "listing.json").read_text())]
    server = ReplayServer()
    answers: dict[tuple[str, str], bytes] = {}

    def listing(query: dict[str, str]):
        key = (query.get("start", "0"), query.get("length", "10"))
        if key not in answers:
            answers[key] = listing_answer(letters, query)
        return 200, {"Content-Type": "application/json"}, answers[key]

    server.routes[LISTING_AJAX_PATH] = listing
    for page in (site / "pages").glob("*.html"):
        server.routes[f"{LETTERS_PATH}{page.stem}"] = saved_file(page)
    # Keep-alive, as fda.gov answers. The replay's HTTP/1.0 answers carry no "Connection: close",
    # so Twisted pooled their connections and sent later requests on connections the server had
    # closed, then retried them: a cost that grew with the crawler's pauses, so it fell on the full
    # crawl more than on the bare one. (Without Nagle: the headers and the body are two writes.)
    server.server.RequestHandlerClass.protocol_version = "HTTP/1.1"
    server.server.RequestHandlerClass.disable_nagle_algorithm = True
    with server:
        print(server.server.server_address[1], flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
