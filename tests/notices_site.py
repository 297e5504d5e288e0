"""A replayed fda.gov for the notices crawl: feeds, alert pages and an index page, built by
tests/fixtures/fda/notices/build_notices.py, served at their fda.gov paths."""

from __future__ import annotations

import json
from pathlib import Path

from tests.replay import ReplayServer, replay_config_head, static

NOTICES = Path(__file__).parent / "fixtures" / "fda" / "notices"
SITE = NOTICES / "site"
RSS = "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/"
FEEDS = {name: f"{RSS}{name}/rss.xml" for name in ("medwatch", "biologics", "food-safety-recalls")}
INDEX = "https://www.fda.gov/vaccines-blood-biologics/safety-availability-biologics"
INDEX_PATHS = [
    "/vaccines-blood-biologics/safety-availability-biologics/",
    "/vaccines-blood-biologics/consumers-biologics/",
]
RSS_TYPE = "application/rss+xml; charset=utf-8"


def expected_notices() -> dict[str, dict]:
    return {notice["url"]: notice for notice in json.loads((NOTICES / "expected.json").read_text("utf-8"))}


def serve_site(server: ReplayServer) -> None:
    """Every saved file at its fda.gov path: pages without their .html, feeds as they are."""
    for path in SITE.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(SITE).as_posix()
        if relative.endswith(".html"):
            server.routes["/" + relative.removesuffix(".html")] = static(path.read_bytes())
        else:
            server.routes["/" + relative] = static(path.read_bytes(), RSS_TYPE)


def feed_path(name: str) -> str:
    return FEEDS[name].removeprefix("https://www.fda.gov")


def write_notices_config(
    path: Path,
    server: ReplayServer,
    database_url: str,
    *,
    feeds: list[str],
    index_pages: list[str] = (),
    **crawl: object,
) -> Path:
    """A config for crawling notices from `server`: allow-listed, no delays, no retries."""
    path.write_text(
        replay_config_head(server, database_url, **crawl)
        + f'[sources.fda_notices]\nbase_url = "{server.base_url}"\nfeeds = {json.dumps(list(feeds))}\n'
        f"index_pages = {json.dumps(list(index_pages))}\nindex_link_paths = {json.dumps(INDEX_PATHS)}\n",
        encoding="utf-8",
    )
    return path
