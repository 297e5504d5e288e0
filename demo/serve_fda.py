"""Serve the demo's replayed fda.gov on loopback: `python demo/serve_fda.py`.

The listing is generated from real listing rows and the letter pages are the saved fixture pages
(tests/fixtures/fda/site/); the safety feeds, alert pages and an index page are the notices
fixtures (tests/fixtures/fda/notices/site/). So `exowatch crawl fda_warning_letters fda_notices`
runs offline. Prints the base
URL on its first line, then serves until it is stopped.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import monitor  # noqa: E402 - the project root is where the (editable) install points

sys.path.insert(0, str(Path(monitor.__file__).resolve().parents[1]))  # for tests/ (fixtures, replay)

from tests.fda_site import FdaSite, site_letters  # noqa: E402
from tests.notices_site import serve_site  # noqa: E402
from tests.replay import ReplayServer  # noqa: E402


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ReplayServer() as server:
        FdaSite(server, site_letters())
        serve_site(server)  # FDA's safety feeds, alert pages and an index page
        print(server.base_url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
