"""A Digest: the events after a channel's cursor that pass its filters, in sections. Pure data.

Sections, in order: new and updated FDA warning letters (tagged ones first, with tags and products
named), FDA notices (relevant ones first), clinic flags opened, escalated or resolved (severity,
evidence snippet, page, the FDA action cited), and source health (sources failing, sources whose
crawl could not read some pages, sources recovered). The digest covers the events
first_event_id..last_event_id it was built from, filtered or not: the cursor moves past all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.config import ChannelConfig

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3}
SECTIONS = (
    ("letters", "FDA warning letters"),
    ("notices", "FDA safety notices"),
    ("flags", "Clinics flagged"),
    ("sources", "Source health"),
)


@dataclass(frozen=True)
class Item:
    event_id: int
    kind: str
    title: str
    url: str | None
    lines: tuple[str, ...] = ()  # details, plain text (rendering escapes them)
    tags: tuple[str, ...] = ()
    severity: str | None = None
    relevant: bool = False
    clinic: str | None = None  # a flag's clinic key: one clinic can have several flags


@dataclass(frozen=True)
class Digest:
    channel: str
    first_event_id: int
    last_event_id: int
    sections: Mapping[str, tuple[Item, ...]] = field(default_factory=dict)

    @property
    def items(self) -> list[Item]:
        return [item for key, _ in SECTIONS for item in self.sections.get(key, ())]

    @property
    def empty(self) -> bool:
        return not self.items

    def counts(self) -> dict[str, int]:
        """Items a section, except "flags": the clinics it names (a clinic flagged under two rules,
        or flagged and escalated, is one clinic flagged, not two)."""
        counts = {key: len(self.sections.get(key, ())) for key, _ in SECTIONS}
        counts["flags"] = len({item.clinic or item.title for item in self.sections.get("flags", ())})
        return counts


def build_digest(
    channel: ChannelConfig,
    events: Iterable[Mapping[str, Any]],
    clinics: Mapping[str, Mapping[str, Any]],
    records: Mapping[str, Mapping[str, Any]] | None = None,
) -> Digest | None:
    """The digest of `events` (ordered by id) for `channel`; None when there are no events at all.
    `clinics`: clinic_key -> clinic row (countries filter, names of flagged clinics); `records`:
    a letter's slug or a notice's URL -> its tags and product names."""
    records = records or {}
    events = list(events)
    if not events:
        return None
    sections: dict[str, list[Item]] = {key: [] for key, _ in SECTIONS}
    for event in events:
        if event["kind"] not in channel.events:
            continue
        item = _item(channel, event, clinics, records.get(str(event["subject_key"]), {}))
        if item is not None:
            sections[_section(event["kind"])].append(item)
    sections["letters"].sort(key=lambda i: (not i.relevant, i.event_id))
    sections["notices"].sort(key=lambda i: (not i.relevant, i.event_id))
    sections["flags"].sort(key=lambda i: (-SEVERITY_RANK.get(i.severity or "low", 0), i.event_id))
    return Digest(
        channel=channel.name,
        first_event_id=events[0]["id"],
        last_event_id=events[-1]["id"],
        sections={key: tuple(items) for key, items in sections.items()},
    )


def _section(kind: str) -> str:
    return {"letter": "letters", "notice": "notices", "flag": "flags"}.get(kind.split(".")[0], "sources")


def _item(
    channel: ChannelConfig,
    event: Mapping[str, Any],
    clinics: Mapping[str, Mapping[str, Any]],
    record: Mapping[str, Any],
) -> Item | None:
    kind, summary = event["kind"], event["summary"] or {}
    if kind.startswith(("letter.", "notice.")):
        tags = tuple(record.get("tags") or summary.get("tags") or ())
        first_read = kind == "letter.updated" and _first_page_read(summary)
        # a tag filter keeps the new records it names; a letter's first page read is its news
        # too (a letter backfilled from an export gets its text and tags only then)
        if channel.tags and not set(tags) & set(channel.tags) and (kind.endswith(".new") or first_read):
            return None
        if kind.startswith("letter."):
            title = summary.get("company_name") or event["subject_key"]
            lines = [
                summary.get("subject") or "",
                f"Issued by {summary.get('issuing_office')}" if summary.get("issuing_office") else "",
            ]
            if first_read:
                lines = ["Its letter page was read (its text, tags and products are stored)"]
            elif kind == "letter.updated":
                lines = [f"Changed: {', '.join(sorted((summary.get('changes') or {}).keys()))}"]
        else:
            title = summary.get("title") or event["subject_key"]
            lines = [f"Posted {summary.get('posted_date') or summary.get('published_at') or 'date unknown'}"]
            if kind == "notice.updated":
                lines = ["The notice's text changed"]
        if tags:
            lines.append(f"Tags: {', '.join(tags)}")
        if record.get("product_names"):
            lines.append(f"Products named: {', '.join(record['product_names'])}")
        url = summary.get("url") or (
            event["subject_key"] if str(event["subject_key"]).startswith("http") else None
        )
        return Item(
            event["id"], kind, str(title), url, tuple(x for x in lines if x), tags, relevant=bool(tags)
        )
    if kind.startswith("flag."):
        severity = summary.get("severity") or "low"
        if SEVERITY_RANK.get(severity, 0) < SEVERITY_RANK[channel.min_severity] and kind != "flag.resolved":
            return None
        clinic = clinics.get(summary.get("clinic") or "", {})
        if channel.countries and clinic.get("country") not in channel.countries:
            return None
        verb = {"flag.opened": "flagged", "flag.escalated": "escalated", "flag.resolved": "resolved"}[kind]
        name = clinic.get("name") or summary.get("clinic") or event["subject_key"]
        lines = [
            f"{severity} - {summary.get('rule_id')} ({verb}{', reopened' if summary.get('reopened') else ''})"
        ]
        if summary.get("snippet"):
            lines.append(f"\u201c{summary['snippet']}\u201d")
        for cite in summary.get("cites") or ():
            lines.append(f"FDA: {cite.get('title')} {cite.get('url')}")
        return Item(
            event["id"],
            kind,
            f"{name} ({clinic.get('country') or '?'})",
            summary.get("url"),
            tuple(lines),
            severity=severity,
            clinic=summary.get("clinic") or str(event["subject_key"]),
        )
    return Item(event["id"], kind, str(event["subject_key"]), None, _source_lines(kind, summary))


#: A letter's lifecycle fields: a change of one is news whatever the channel's tag filter.
_LETTER_LIFECYCLE = frozenset({"response_letter_date", "closeout_letter_date"})


def _first_page_read(summary: Mapping[str, Any]) -> bool:
    """A letter.updated that tells the first reading of a stored letter's page (a letter
    backfilled from an export, or whose page had failed): its text hash went from none to one,
    and no response or close-out changed with it."""
    changes = summary.get("changes") or {}
    text = changes.get("content_hash")
    return (
        isinstance(text, dict) and "to" in text and text.get("from") is None
    ) and not _LETTER_LIFECYCLE & set(changes)


def _source_lines(kind: str, summary: Mapping[str, Any]) -> tuple[str, ...]:
    """A source event's details: what failed, how many pages could not be read, the reasons."""
    error = str(summary.get("error") or "")
    if kind == "source.partial":
        lines = []
        for key, one, several in (
            ("pages_failed", "page", "pages"),
            ("sources_failed", "feed, index page or listing", "feeds, index pages or listings"),
        ):
            count = int(summary.get(key) or 0)
            if count:
                noun = one if count == 1 else several
                lines.append(f"{count} {noun} could not be read (tried again by the next crawl)")
        return (*lines, error) if error else tuple(lines)
    if kind == "source.recovered":
        return ("Works again: its last crawl read everything",)
    return (error,)
