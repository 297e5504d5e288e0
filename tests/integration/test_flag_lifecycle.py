"""The flag lifecycle on a real store, SQLite and PostgreSQL: a flag opens, escalates when a stored
FDA warning letter names the product the page names, resolves when a re-crawled page drops the
advertising, reopens when it returns; each transition writes exactly one event, a re-run none."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from db.models import Event, Flag
from db.records import ClinicRecord, LetterRecord, PageRecord
from db.store import Store
from monitor.cli import main
from monitor.flagging import run_flagger

URL = "http://glowclinic.example/treatments/exosome-iv"
OFFER = (
    "Exosome IV Therapy\nOur exosome IV infusions support recovery from knee arthritis and joint pain.\n"
    "Exosome IV drip - $1,500 per session. Book your consultation today.\nWe also carry XoGlo."
)
DROPPED = "PRP Therapy\nOur PRP injections for knee pain. $600 per session. Book your consultation today."


def put_page(store: Store, text: str) -> None:
    now = datetime.now(UTC)
    page = PageRecord(
        url=URL, title="Exosome IV", text=text, content_hash=str(hash(text)), fetched_at=now, checked_at=now
    )
    store.upsert_pages(
        [page], clinic_keys={URL: "glowclinic.example"}, html={URL: (text.encode(), "utf-8")}, source="test"
    )


def flag_events(store: Store) -> list[tuple[str, str]]:
    with store.engine.connect() as connection:
        query = select(Event.kind, Event.subject_key).where(Event.subject_type == "flag").order_by(Event.id)
        return [tuple(row) for row in connection.execute(query)]


def flags(store: Store) -> dict[str, tuple[str, str]]:
    with store.engine.connect() as connection:
        return {row.rule_id: (row.status, row.severity) for row in connection.execute(select(Flag.__table__))}


def test_open_escalate_resolve_reopen_with_one_event_each(db_url):
    store = Store.open(db_url)
    store.init()
    try:
        store.upsert_clinics(
            [
                ClinicRecord(
                    "glowclinic.example",
                    name="Glow Clinic",
                    domain="glowclinic.example",
                    website="http://glowclinic.example/",
                )
            ],
            source="test",
            seen_at=datetime.now(UTC),
        )
        put_page(store, OFFER)
        report = run_flagger(store)
        assert (report.pages_assessed, report.opened) == (1, 2)
        assert flags(store) == {"exosome_route": ("open", "high"), "exosome_condition": ("open", "high")}
        assert flag_events(store) == [
            ("flag.opened", "glowclinic.example:exosome_condition"),
            ("flag.opened", "glowclinic.example:exosome_route"),
        ]
        assert run_flagger(store).line() == "0 pages assessed; flags: 0 opened, 0 escalated, 0 resolved"

        # FDA's warning letter to Kimera Labs names XoGlo: the flags escalate and cite it
        letter = LetterRecord(
            slug="kimera-labs-inc-649343-09012023",
            url="https://www.fda.gov/inspections-compliance-enforcement-and-criminal-investigations/warning-letters/kimera-labs-inc-649343-09012023",
            company_name="Kimera Labs, Inc.",
            tags=["exosome", "regenerative"],
            product_names=["XoGlo", "XoGlo Pro"],
        )
        store.upsert_letters([letter], source="test")
        report = run_flagger(store)
        assert report.escalated == 2 and report.opened == 0
        assert flags(store) == {
            "exosome_route": ("escalated", "high"),
            "exosome_condition": ("escalated", "high"),
        }
        with store.engine.connect() as connection:
            evidence = connection.execute(
                select(Flag.evidence).where(Flag.rule_id == "exosome_route")
            ).scalar_one()
        assert evidence["url"] == URL and "exosome IV" in evidence["snippet"]
        assert evidence["cites"][0]["key"] == "kimera-labs-inc-649343-09012023"
        assert OFFER[evidence["start"] : evidence["end"]].split() == evidence["snippet"].split()
        assert run_flagger(store).line().startswith("0 pages assessed")

        # the page is re-crawled without the advertising: resolved
        put_page(store, DROPPED)
        report = run_flagger(store)
        assert report.resolved == 2
        assert {status for status, _ in flags(store).values()} == {"resolved"}

        # it returns: reopened
        put_page(store, OFFER)
        report = run_flagger(store)
        assert report.opened == 2 and report.escalated == 2
        kinds = [kind for kind, _ in flag_events(store)]
        assert kinds == ["flag.opened"] * 2 + ["flag.escalated"] * 2 + ["flag.resolved"] * 2 + [
            "flag.opened",
            "flag.escalated",
            "flag.opened",
            "flag.escalated",
        ]
        events_before = len(kinds)
        assert run_flagger(store).pages_assessed == 0
        assert len(flag_events(store)) == events_before
    finally:
        store.close()


def test_a_rule_change_alone_never_resolves(db_url):
    store = Store.open(db_url)
    store.init()
    try:
        store.upsert_clinics(
            [ClinicRecord("glowclinic.example", domain="glowclinic.example")], source="t", seen_at=None
        )
        put_page(store, OFFER)
        run_flagger(store)
        opened = flag_events(store)
        report = run_flagger(store, everything=True)  # every page again, as after a rule's version change
        assert report.pages_assessed == 1 and report.resolved == 0
        assert flag_events(store) == opened
    finally:
        store.close()


def test_flag_and_flags_commands(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.setenv("EXOWATCH_DATABASE_URL", db_url)
    store = Store.open(db_url)
    store.init()
    store.upsert_clinics(
        [ClinicRecord("glowclinic.example", name="Glow", domain="glowclinic.example")],
        source="t",
        seen_at=None,
    )
    put_page(store, OFFER)
    store.close()
    assert main(["flag"]) == 0
    assert "1 pages assessed; flags: 2 opened" in capsys.readouterr().out
    assert main(["flags", "--format", "json"]) == 0
    import json

    listed = json.loads(capsys.readouterr().out)
    assert {row["rule"] for row in listed} == {"exosome_route v1", "exosome_condition v1"}
    assert all(row["url"] == URL and row["severity"] == "high" for row in listed)
    assert main(["flags", "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith(
        "clinic,name,country,severity,status,rule,url,evidence,cites,opened_at"
    )
