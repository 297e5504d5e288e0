"""`exowatch demo` (what `make demo` runs): the whole job offline into a fresh folder, with what a
newcomer needs printed, a real e-mail received and RSS/Atom files written; and the same counts when
run again, because each run starts from a fresh store."""

from __future__ import annotations

import email
from email import policy

import feedparser
import pytest

import monitor.demo
from monitor.cli import main
from tests.integration.test_crawl_clinics import EXPECTED

INJECTION_CLINICS = [c for c in EXPECTED["clinics"] if "exosome_injection" in c["offers"]]


@pytest.fixture
def demo(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    # the demo writes its own config and store: a database URL in the environment must not matter
    monkeypatch.setenv("EXOWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'not-the-demo.db'}")
    out = tmp_path / "out"

    def run() -> tuple[int, str, str]:
        code = main(["demo", "--out", str(out)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    run.out = out
    yield run
    assert not (tmp_path / "not-the-demo.db").exists()


def section(out: str, title: str) -> list[str]:
    """The lines under `== title`, up to the next blank line."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"== {title}"))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start + 1 : end]


def counts(out: str) -> dict[str, int]:
    return {line[:18].strip(): int(line[18:]) for line in section(out, "in the store")}


def letters_without_a_body(out) -> list[tuple[str, str | None]]:
    """The demo's letters whose page was not read, with their page error."""
    import sqlite3

    with sqlite3.connect(out / "exowatch.db") as connection:
        return connection.execute(
            "SELECT slug, page_error FROM warning_letters WHERE body_text IS NULL"
        ).fetchall()


def test_demo_runs_the_whole_job_offline_and_shows_what_came_out(demo):
    code, out, err = demo()
    assert code == 0, out + err

    # a line per step as it happens, the backfill and each crawl of `once` among them
    assert [line[:5] for line in out.splitlines() if line.startswith("[")] == [
        f"[{n}/6]" for n in range(1, 7)
    ]
    assert "65 letters: 65 new, 0 changed, 0 unchanged" in out
    # `once` reads the page of every backfilled letter (65 changed) and finds 6 new ones; the
    # replayed fda.gov serves a page, real or built, for each of them
    assert "fda_warning_letters: run #2 ok: 6 new, 65 changed, 0 unchanged" in out
    assert letters_without_a_body(demo.out) == []
    assert "fda_notices: run #3 ok: 13 new" in out and "clinic_listings: run #4 ok: 25 new" in out
    assert "digest analysts: sent" in out and "digest public: sent" in out

    found = counts(out)
    assert found["warning letters"] == 71 and found["FDA notices"] == 13
    assert found["with a body"] == 71
    assert found["clinics"] == 25 and found["clinic pages"] == 137 and found["events"] > 0
    assert found["open flags"] == found["high"] + found["medium"] + found["low"] > 0
    assert found["high"] >= len(INJECTION_CLINICS)

    # every clinic offering exosome injections is shown as high, with the page and the evidence
    flagged = section(out, "flagged clinics")
    for clinic in INJECTION_CLINICS:
        head = next(i for i, line in enumerate(flagged) if line.endswith(f" {clinic['key']}"))
        assert flagged[head].startswith("HIGH ") and clinic["name"] in flagged[head]
        first, evidence = flagged[head + 1].split(), flagged[head + 2].strip()
        assert first[0] == "high" and first[-1].startswith(f"http://{clinic['key']}/")
        assert evidence.startswith('"') and any(w in evidence.lower() for w in ("exosom", "eksozom"))

    # scraped text is printed one line at a time, bounded, with nothing a terminal would act on
    for line in out.splitlines():
        assert line.isprintable() and len(line) <= 300, line

    received = email.message_from_bytes((demo.out / "digest.eml").read_bytes(), policy=policy.default)
    assert received["Subject"].startswith("exowatch analysts: ")
    assert "clinics flagged" in received["Subject"]
    assert received.get_body(("plain",)).get_content().strip()
    assert "<html" in received.get_body(("html",)).get_content().lower()
    html = received.get_body(("html",)).get_content().replace("\r\n", "\n")
    assert (demo.out / "digest.html").read_bytes().decode("utf-8") == html
    for name in ("public.rss.xml", "public.atom.xml"):
        feed = feedparser.parse((demo.out / "feeds" / name).read_bytes())
        assert not feed.bozo and feed.entries, name
        assert any(entry.title.startswith("[high]") for entry in feed.entries)

    # a second run starts again from a fresh store: the same counts, the same run numbers
    code, again, err = demo()
    assert code == 0, again + err
    assert counts(again) == found
    assert "fda_warning_letters: run #2 ok: 6 new" in again


def test_demo_without_the_snapshot_fails_with_one_line(demo, monkeypatch, tmp_path):
    monkeypatch.setattr(monitor.demo, "FIXTURES", tmp_path / "installed" / "tests" / "fixtures")
    code, out, err = demo()
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "needs a checkout" in err and "tests/fixtures" in err
