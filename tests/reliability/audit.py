"""What a probe counts in a store after a fault: records, events and digests kept more than once.

Records have unique keys in the schema, and the audit counts them anyway: the schema is what a
fault would have to get past, and a migration that lost a constraint should show here too. An
event saying a record is new, or a digest covering an event already sent, are not constrained:
only the program's care keeps them single, so they are what a fault shows first."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from db.models import Clinic, Delivery, Event, Notice, Page, WarningLetter
from db.store import Store

RECORD_KEYS = ((WarningLetter, WarningLetter.slug), (Notice, Notice.url), (Clinic, Clinic.clinic_key), (Page, Page.url))


@dataclass
class Audit:
    counts: dict[str, int]  # rows per table
    surplus: dict[str, list] = field(default_factory=dict)  # what is there more than once, by kind

    @property
    def duplicates(self) -> int:
        return sum(len(found) for found in self.surplus.values())


def audit(database_url: str) -> Audit:
    store = Store.open(database_url)
    try:
        with store.engine.connect() as connection:
            surplus: dict[str, list] = {}
            for model, key in RECORD_KEYS:
                keys = Counter(connection.scalars(select(key)))
                surplus[model.__tablename__] = [k for k, n in keys.items() for _ in range(n - 1)]
            news = Counter(
                (kind, subject)
                for kind, subject in connection.execute(select(Event.kind, Event.subject_key))
                if kind.endswith(".new")
            )
            surplus["events told new twice"] = [k for k, n in news.items() for _ in range(n - 1)]
            sent = connection.execute(
                select(Delivery.channel, Delivery.first_event_id, Delivery.last_event_id)
                .where(Delivery.status == "sent")
                .order_by(Delivery.channel, Delivery.first_event_id)
            ).all()
            surplus["digests overlapping an earlier one"] = [
                (now.channel, now.first_event_id)
                for before, now in zip(sent, sent[1:], strict=False)
                if before.channel == now.channel and now.first_event_id <= before.last_event_id
            ]
        counts = store.table_counts()
    finally:
        store.close()
    return Audit(counts=counts, surplus={kind: found for kind, found in surplus.items() if found})
