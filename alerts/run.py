"""Build and send the digests that are due: `exowatch digest [--channel NAME] [--dry-run]`.

Never lost, never twice:

* a channel's cursor is the last event of its last delivery that was sent (or that its filters
  left empty); a digest holds every event after it;
* a delivery is recorded as pending, with its Message-ID, BEFORE the send, and marked sent after:
  a process killed in between leaves it pending, and the next run sends that same range again with
  the same Message-ID (at most one duplicate, which mail clients recognize);
* a send that fails marks the delivery failed and leaves the cursor where it was: the next run's
  digest holds everything since the last one sent; runs within 1, 2, 4... minutes (at most an hour)
  of the last failure wait instead of trying again;
* nothing new, nothing sent; a dry run prints and records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.channels import apprise_chat
from alerts.channels import email as email_channel
from alerts.channels.feed import write_feeds
from alerts.digest import Digest, build_digest
from alerts.render import render_text
from db.store import Store
from monitor.config import ChannelConfig, Config

FEED_EVENTS = 200
# After a failed send the next try waits 1, 2, 4... minutes, at most an hour; nothing is lost meanwhile.
BACKOFF_FIRST_SECONDS = 60
BACKOFF_MAX_SECONDS = 3600


@dataclass(frozen=True)
class ChannelOutcome:
    channel: str
    status: str  # sent, resent, empty, nothing, waiting, failed, dry-run
    detail: str = ""


URGENT_EVENTS = ("flag.opened", "flag.escalated")


def run_digests(
    store: Store,
    config: Config,
    *,
    channel: str | None = None,
    dry_run: bool = False,
    urgent: bool = False,
    echo: Callable[[str], None] = print,
    base_dir: Path = Path("."),
) -> list[ChannelOutcome]:
    """Each channel's digest; with `urgent`, only the high-severity flags of the channels that
    send them at once (`immediate_high`), under a cursor of their own (`<name>-urgent`). A high
    flag goes out once: urgently if the urgent run comes first, else in the digest."""
    channels = [c for c in config.channels if channel is None or c.name == channel]
    outcomes = []
    for spec in channels:
        if urgent:
            if spec.kind == "feed" or not spec.immediate_high:
                continue
            urgent_spec = replace(spec, name=f"{spec.name}-urgent", events=URGENT_EVENTS, min_severity="high")
            floor = store.channel_cursor(spec.name)  # what the digest already carried
            outcomes.append(
                _run_channel(store, urgent_spec, dry_run=dry_run, echo=echo, base_dir=base_dir, floor=floor)
            )
            continue
        sent = store.channel_cursor(f"{spec.name}-urgent") if spec.immediate_high else 0
        outcomes.append(
            _run_channel(store, spec, dry_run=dry_run, echo=echo, base_dir=base_dir, urgent_sent=sent)
        )
    return outcomes


def _digest(
    store: Store, spec: ChannelConfig, after: int, until: int | None = None, urgent_sent: int = 0
) -> tuple[Digest | None, list]:
    events = store.events_between(after, until)
    if not events:
        return None, events
    clinics, records = store.digest_lookups(events)
    # high flags already sent at once (event ids up to the urgent cursor) are not told twice
    shown = [e for e in events if not (e["id"] <= urgent_sent and _urgent(e))]
    digest = build_digest(spec, shown, clinics, records) if shown else Digest(spec.name, 0, 0, {})
    return replace(digest, first_event_id=events[0]["id"], last_event_id=events[-1]["id"]), events


def _urgent(event: dict) -> bool:
    return event["kind"] in URGENT_EVENTS and (event["summary"] or {}).get("severity") == "high"


def _run_channel(
    store: Store,
    spec: ChannelConfig,
    *,
    dry_run: bool,
    echo,
    base_dir: Path,
    floor: int = 0,
    urgent_sent: int = 0,
) -> ChannelOutcome:
    if spec.kind == "feed":
        return _run_feed(store, spec, dry_run=dry_run, echo=echo, base_dir=base_dir)
    resent = ""  # said in the outcome: a message went out even when nothing new did
    pending = store.pending_delivery(spec.name)
    if pending and not dry_run:  # the last run died between the send and recording it
        digest, _ = _digest(store, spec, pending["first_event_id"] - 1, pending["last_event_id"])
        if digest is None or digest.empty:
            store.finish_delivery(pending["id"], "empty")
        else:
            try:
                _send(spec, digest)
            except email_channel.SendFailed as exc:
                store.finish_delivery(pending["id"], "failed", str(exc)[:500])
                return ChannelOutcome(spec.name, "failed", str(exc))
            store.finish_delivery(pending["id"], "sent")
            resent = (
                f"resent the digest a stopped run left unsent (events {pending['first_event_id']} to "
                f"{pending['last_event_id']}, {len(digest.items)} items)"
            )
    outcome = _send_new(store, spec, dry_run=dry_run, echo=echo, floor=floor, urgent_sent=urgent_sent)
    if not resent:
        return outcome
    if outcome.status in ("nothing", "empty", "waiting"):
        return ChannelOutcome(spec.name, "resent", f"{resent}; {outcome.status}: {outcome.detail}")
    return replace(outcome, detail=f"{outcome.detail}; {resent}")


def _send_new(
    store: Store, spec: ChannelConfig, *, dry_run: bool, echo, floor: int, urgent_sent: int
) -> ChannelOutcome:
    """The digest of the events after the channel's cursor, sent (or waiting out a backoff)."""
    failures, last_failed = store.recent_failures(spec.name)
    if failures and not dry_run:
        wait = min(BACKOFF_FIRST_SECONDS * 2 ** (failures - 1), BACKOFF_MAX_SECONDS)
        ready = last_failed + timedelta(seconds=wait)
        if datetime.now(UTC) < ready:  # the server was down: do not hammer it, nothing is lost
            return ChannelOutcome(
                spec.name, "waiting", f"{failures} failed sends; next try after {ready:%H:%M:%S}Z"
            )
    cursor = max(store.channel_cursor(spec.name), floor)
    digest, events = _digest(store, spec, cursor, urgent_sent=urgent_sent)
    if digest is None:
        return ChannelOutcome(spec.name, "nothing", "no new events")
    if dry_run:
        echo(render_text(digest))
        return ChannelOutcome(spec.name, "dry-run", f"{len(digest.items)} items, not sent")
    if digest.empty:
        store.start_delivery(spec.name, digest.first_event_id, digest.last_event_id, None, status="empty")
        return ChannelOutcome(spec.name, "empty", f"{len(events)} events, none for this channel")
    identifier = email_channel.message_id(spec, digest) if spec.kind == "email" else None
    delivery = store.start_delivery(spec.name, digest.first_event_id, digest.last_event_id, identifier)
    try:
        _send(spec, digest)
    except email_channel.SendFailed as exc:
        store.finish_delivery(delivery, "failed", str(exc)[:500])
        return ChannelOutcome(spec.name, "failed", str(exc))
    store.finish_delivery(delivery, "sent")
    return ChannelOutcome(spec.name, "sent", f"{len(digest.items)} items, {identifier}")


def _send(spec: ChannelConfig, digest: Digest) -> None:
    if spec.kind == "apprise":
        apprise_chat.send(spec, digest)
    else:
        email_channel.send(spec, digest)


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
