"""A clinic's pages are judged together: once one page offers exosome products (its price list),
its other pages that speak of them are judged on the lower bar; another clinic's same page is not.
Thresholds are pinned in the test, so that the shipped model's numbers do not decide it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from db.models import Clinic, Flag
from db.records import ClinicRecord, PageRecord
from db.store import Store
from monitor.flagging import run_flagger
from monitor.rules import flagger

PRICE_LIST = "Price list\nExosome facial after microneedling - $350 per session. Book now."
EXPLAINER = "What are exosomes?\nExosomes are tiny vesicles that carry signals between skin cells."


def add_clinic(store: Store, domain: str, pages: dict[str, str]) -> None:
    now = datetime.now(UTC)
    store.upsert_clinics(
        [ClinicRecord(domain, name=domain, domain=domain, website=f"http://{domain}/")],
        source="test",
        seen_at=now,
    )
    records = [
        PageRecord(url=url, title=None, text=text, content_hash=str(hash(text)), fetched_at=now, checked_at=now)
        for url, text in pages.items()
    ]
    store.upsert_pages(
        records,
        clinic_keys=dict.fromkeys(pages, domain),
        html={url: (text.encode(), "utf-8") for url, text in pages.items()},
        source="test",
    )


def clinic_ids(store: Store) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {row.clinic_key: row.id for row in connection.execute(select(Clinic.__table__))}


def flagged_pages(store: Store) -> dict[str, list[str]]:
    """clinic key -> the URLs of its pages with findings."""
    ids = clinic_ids(store)
    keys = {clinic_id: key for key, clinic_id in ids.items()}
    found = store.clinic_findings(set(ids.values()))
    return {keys[cid]: sorted(p["url"] for p in pages if p["findings"]) for cid, pages in found.items()}


def test_a_clinic_offering_exosomes_on_one_page_is_judged_on_all_of_them(db_url, monkeypatch):
    # the model alone never flags here; another page's offer lowers the bar to anything
    monkeypatch.setattr(flagger, "MODEL_THRESHOLD", 1.01)
    monkeypatch.setattr(flagger, "SITE_THRESHOLD", 0.0)
    monkeypatch.setattr(flagger, "PRICED_THRESHOLD", 0.0)
    store = Store.open(db_url)
    store.init()
    try:
        add_clinic(
            store,
            "offering.example",
            {"http://offering.example/prices": PRICE_LIST, "http://offering.example/blog/exosomes": EXPLAINER},
        )
        add_clinic(store, "quiet.example", {"http://quiet.example/blog/exosomes": EXPLAINER})
        report = run_flagger(store)
        assert report.pages_assessed == 3
        assert flagged_pages(store) == {
            "offering.example": ["http://offering.example/blog/exosomes", "http://offering.example/prices"],
            "quiet.example": [],
        }
        with store.engine.connect() as connection:
            keys = {row.clinic_id for row in connection.execute(select(Flag.__table__))}
        assert keys == {clinic_ids(store)["offering.example"]}
    finally:
        store.close()
