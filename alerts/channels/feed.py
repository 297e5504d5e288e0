"""RSS 2.0 and Atom files of a channel: one entry per event, a stable GUID, written atomically.

The files are regenerated from the channel's latest events each time (not appended to), so an
entry keeps its GUID (`exowatch:<channel>:event:<id>`) however often they are written. Texts are
hostile: feedgen escapes them, and control characters (which XML cannot hold) are dropped first.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC
from pathlib import Path

from feedgen.feed import FeedGenerator

from alerts.digest import Digest
from monitor.config import ChannelConfig

_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: object) -> str:
    return _XML_INVALID.sub("", str(text or ""))


def guid(channel: ChannelConfig, event_id: int) -> str:
    return f"exowatch:{channel.name}:event:{event_id}"


def write_feeds(
    channel: ChannelConfig, digest: Digest, times: dict[int, object], base_dir: Path
) -> tuple[Path, Path]:
    feed = FeedGenerator()
    feed.id(f"exowatch:{channel.name}")
    feed.title(_clean(channel.feed_title or f"exowatch: {channel.name}"))
    feed.link(href=channel.feed_link, rel="alternate")
    feed.description(_clean(f"What exowatch found new ({channel.name})"))
    feed.language("en")
    for item in sorted(digest.items, key=lambda i: i.event_id):
        entry = feed.add_entry(order="append")
        entry.id(guid(channel, item.event_id))
        entry.guid(guid(channel, item.event_id), permalink=False)
        label = f"[{item.severity}] " if item.severity else ""
        entry.title(_clean(f"{label}{item.title}"))
        entry.description(_clean("\n".join(item.lines)) or _clean(item.title))
        if item.url and item.url.lower().startswith(("http://", "https://")):
            entry.link(href=_clean(item.url))
        when = times.get(item.event_id)
        if when is not None:
            entry.published(when if when.tzinfo else when.replace(tzinfo=UTC))
            entry.updated(when if when.tzinfo else when.replace(tzinfo=UTC))
    folder = base_dir / channel.feed_dir
    folder.mkdir(parents=True, exist_ok=True)
    rss, atom = folder / f"{channel.name}.rss.xml", folder / f"{channel.name}.atom.xml"
    _atomic_write(rss, feed.rss_str(pretty=True))
    _atomic_write(atom, feed.atom_str(pretty=True))
    return rss, atom


def _atomic_write(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
