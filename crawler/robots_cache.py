"""The robots.txt a crawl may reuse, and those it read: kept in the store between crawls.

RFC 9309 (2.4) lets a crawler use a cached robots.txt for up to 24 hours. A crawl starts with the
bodies read within that time (`fresh`, from the store: crawler.plans.stored_state), so it asks a
host for its robots.txt at most once a day, however often the daemon runs; what it does read
(`read`) is stored when it ends (crawler.run). Only answers that decide something are kept: a 2xx
body, or an empty one for a 4xx (no robots.txt: everything allowed). A 5xx, a 429 or a network
error disallows the host for that crawl only, and the next crawl asks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_AGE_HOURS = 24  # RFC 9309 2.4
MAX_BYTES = 512 * 1024  # RFC 9309 2.5 asks parsers to read at least 500 KiB; larger is not kept


@dataclass
class RobotsCache:
    fresh: dict[str, bytes] = field(default_factory=dict)  # host[:port] -> body read within a day
    read: dict[str, tuple[int, bytes]] = field(default_factory=dict)  # read by this crawl

    def keep(self, netloc: str, status: int, body: bytes) -> None:
        if len(body) <= MAX_BYTES:
            self.read[netloc] = (status, body)
