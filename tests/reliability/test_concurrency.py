"""Two processes importing the same files into one store at once end as one import would."""

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from db.migrate import head_revision
from db.models import Event, WarningLetter
from db.store import Store
from tests.conftest import LISTING_CSV, LISTING_JSON
from tests.reliability.audit import audit

CONTENT = [c for c in WarningLetter.__table__.c if c.name not in ("id", "first_seen_at", "updated_at")]

HEAD = head_revision()


def content(store: Store) -> list[tuple]:
    with store.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(select(*CONTENT).order_by(WarningLetter.slug))]


def start_import(url: str, config: Path) -> subprocess.Popen:
    env = {**os.environ, "EXOWATCH_DATABASE_URL": url, "EXOWATCH_CONFIG": str(config)}
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "import-letters", str(LISTING_CSV), str(LISTING_JSON)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_concurrent_imports_equal_one_import(store, db_url, tmp_path, probe):
    config = tmp_path / "config.toml"
    config.write_text("[database]\nbatch_size = 10\n")  # many small transactions, so they interleave
    first, second = start_import(db_url, config), start_import(db_url, config)
    results = [process.communicate(timeout=240) for process in (first, second)]
    for process, (_, err) in zip((first, second), results, strict=True):
        assert process.returncode == 0, err
    news = sorted(int(out.split(" letters: ")[1].split(" new")[0]) for out, _ in results)
    assert sum(news) == 4021  # each letter was new to exactly one of the two

    reference = Store.open(f"sqlite:///{tmp_path / 'reference.db'}")
    reference.init()
    from monitor.backfill import import_letter_files

    import_letter_files(reference, [LISTING_CSV, LISTING_JSON])
    try:
        found = audit(db_url)
        assert probe.duplicates(found.duplicates) == 0, found.surplus
        assert probe.expect_rows(reference.table_counts()["warning_letters"], found.counts["warning_letters"]) == 0
        assert content(store) == content(reference)
    finally:
        reference.close()
    counts = store.table_counts()
    assert counts["warning_letters"] == 4021
    assert counts["events"] == 4021
    with store.engine.connect() as connection:
        ids = [row.id for row in connection.execute(select(Event.id).order_by(Event.id))]
        subjects = {row.subject_key for row in connection.execute(select(Event.subject_key))}
    assert len(subjects) == 4021
    assert ids == sorted(set(ids))


def test_two_concurrent_inits_both_succeed(db_url, tmp_path):
    env = {**os.environ, "EXOWATCH_DATABASE_URL": db_url}
    env.pop("EXOWATCH_CONFIG", None)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "monitor", "init"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    said = sorted(out.split(": ", 1)[1].strip() if "->" in out else "up to date" for out, _ in outputs)
    assert said == [f"schema empty -> {HEAD}", "up to date"]
