"""The whole replayed world behind one proxy: the clinic web (tests.web_replay) with fda.gov mounted
on it (its warning-letter listing and pages, its safety feeds, alert pages and an index page), and
a config that crawls every source from it. For end-to-end tests of `once` and the daemon."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fda_site import FdaSite, site_letters
from tests.integration.test_crawl_clinics import write_config
from tests.notices_site import FEEDS, INDEX, INDEX_PATHS, serve_site
from tests.web_replay import WebReplay

FDA_HOST = "www.fda.gov"


def replay_world() -> tuple[WebReplay, FdaSite]:
    """The world, not started yet (use it as a context manager)."""
    web = WebReplay()
    site = web.mount(FDA_HOST)
    fda = FdaSite(site, site_letters())
    serve_site(site)
    return web, fda


def write_world_config(
    path: Path, web: WebReplay, database_url: str, extra: str = "", **sites: object
) -> Path:
    """A config crawling every source from `web`; `extra` is appended (channels, [daemon], ...)."""
    write_config(path, web, database_url, **sites)
    text = path.read_text("utf-8").replace(
        'allow_hosts = ["*.example"', f'allow_hosts = ["*.example", "{FDA_HOST}"'
    )
    text += (
        f'\n[sources.fda_warning_letters]\nbase_url = "http://{FDA_HOST}"\npage_size = 4\n'
        f'\n[sources.fda_notices]\nbase_url = "http://{FDA_HOST}"\nfeeds = {json.dumps(list(FEEDS.values()))}\n'
        f"index_pages = {json.dumps([INDEX])}\nindex_link_paths = {json.dumps(INDEX_PATHS)}\n"
    )
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return path
