"""Build and send the digests that are due: `exowatch digest [--channel NAME] [--dry-run]`.

Never lost, never twice:

* a channel's cursor is the last event of its last delivery that was sent (or that its filters
  left empty); a digest holds every event after it;
* a delivery is recorded as pending, with its Message-ID, BEFORE the send, and marked sent after:
  a process killed in between leaves it pending, and the next run sends that same range again with
  the same Message-ID (at most one duplicate, which mail clients recognize);
* a send that fails marks the delivery failed and leaves the cursor where it was: the next run's
  digest holds everything since the last one sent;
* nothing new, nothing sent; a dry run prints and records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alerts.channels import email as email_channel
from alerts.channels.feed import write_feeds
from alerts.digest import Digest, build_digest
from alerts.render import render_text
from db.store import Store
from monitor.config import ChannelConfig, Config

FEED_EVENTS = 200


@dataclass(frozen=True)
class ChannelOutcome:
    channel: str
    status: str  # sent, empty, nothing, failed, dry-run
    detail: str = ""


def run_digests(
    store: Store,
    config: Config,
    *,
    channel: str | None = None,
    dry_run: bool = False,
    echo: Callable[[str], None] = print,
    base_dir: Path = Path("."),
) -> list[ChannelOutcome]:
    channels = [c for c in config.channels if channel is None or c.name == channel]
    outcomes = []
    for spec in channels:
        outcomes.append(_run_channel(store, spec, dry_run=dry_run, echo=echo, base_dir=base_dir))
    return outcomes


def _digest(
    store: Store, spec: ChannelConfig, after: int, until: int | None = None
) -> tuple[Digest | None, list]:
    events = store.events_between(after, until)
    if not events:
        return None, events
    clinics, records = store.digest_lookups(events)
    return build_digest(spec, events, clinics, records), events


def _run_channel(store: Store, spec: ChannelConfig, *, dry_run: bool, echo, base_dir: Path) -> ChannelOutcome:
    if spec.kind == "feed":
        return _run_feed(store, spec, dry_run=dry_run, echo=echo, base_dir=base_dir)
    pending = store.pending_delivery(spec.name)
    if pending and not dry_run:  # the last run died between the send and recording it
        digest, _ = _digest(store, spec, pending["first_event_id"] - 1, pending["last_event_id"])
        if digest is None or digest.empty:
            store.finish_delivery(pending["id"], "empty")
        else:
            try:
                email_channel.send(spec, digest)
            except email_channel.SendFailed as exc:
                store.finish_delivery(pending["id"], "failed", str(exc)[:500])
                return ChannelOutcome(spec.name, "failed", str(exc))
            store.finish_delivery(pending["id"], "sent")
    cursor = store.channel_cursor(spec.name)
    digest, events = _digest(store, spec, cursor)
    if digest is None:
        return ChannelOutcome(spec.name, "nothing", "no new events")
    if dry_run:
        echo(render_text(digest))
        return ChannelOutcome(spec.name, "dry-run", f"{len(digest.items)} items, not sent")
    if digest.empty:
        store.start_delivery(spec.name, digest.first_event_id, digest.last_event_id, None, status="empty")
        return ChannelOutcome(spec.name, "empty", f"{len(events)} events, none for this channel")
    identifier = email_channel.message_id(spec, digest)
    delivery = store.start_delivery(spec.name, digest.first_event_id, digest.last_event_id, identifier)
    try:
        email_channel.send(spec, digest)
    except email_channel.SendFailed as exc:
        store.finish_delivery(delivery, "failed", str(exc)[:500])
        return ChannelOutcome(spec.name, "failed", str(exc))
    store.finish_delivery(delivery, "sent")
    return ChannelOutcome(spec.name, "sent", f"{len(digest.items)} items, {identifier}")


def _run_feed(store: Store, spec: ChannelConfig, *, dry_run: bool, echo, base_dir: Path) -> ChannelOutcome:
    cursor = store.channel_cursor(spec.name)
    latest = store.events_between(0)[-FEED_EVENTS * 10 :]
    if not latest or latest[-1]["id"] <= cursor:
        return ChannelOutcome(spec.name, "nothing", "no new events")
    clinics, records = store.digest_lookups(latest)
    digest = build_digest(spec, latest, clinics, records)
    if dry_run:
        echo(render_text(digest))
        return ChannelOutcome(spec.name, "dry-run", f"{len(digest.items)} entries, not written")
    times = {event["id"]: event["at"] for event in latest}
    rss, atom = write_feeds(spec, digest, times, base_dir)
    store.start_delivery(spec.name, cursor + 1, latest[-1]["id"], None, status="sent")
    return ChannelOutcome(spec.name, "sent", f"{len(digest.items)} entries in {rss} and {atom}")
