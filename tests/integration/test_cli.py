"""The command line's contract: exit codes, one-line errors, init and status."""

import subprocess
import sys

import pytest

from db.migrate import head_revision
from monitor.cli import main

HEAD = head_revision()


@pytest.fixture
def cli(monkeypatch, capsys):
    monkeypatch.delenv("EXOWATCH_CONFIG", raising=False)
    monkeypatch.delenv("EXOWATCH_DATABASE_URL", raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_init_is_idempotent_and_status_reports_the_store(cli, db_url, monkeypatch):
    monkeypatch.setenv("EXOWATCH_DATABASE_URL", db_url)
    code, out, _ = cli("init")
    assert code == 0 and f"schema empty -> {HEAD}" in out
    code, out, _ = cli("init")
    assert code == 0 and f"is up to date (schema {HEAD})" in out
    code, out, _ = cli("status")
    assert code == 0
    assert "store: " in out and "warning_letters" in out and "latest events: none" in out
    assert "latest runs: none" in out


def test_status_shows_latest_events_and_runs(cli, db_url, monkeypatch):
    from tests.conftest import LISTING_CSV

    monkeypatch.setenv("EXOWATCH_DATABASE_URL", db_url)
    cli("init")
    cli("import-letters", str(LISTING_CSV))
    code, out, _ = cli("status", "--events", "3")
    assert code == 0
    assert "warning_letters      3374" in out
    assert out.count(" letter.new ") == 3
    assert "import-letters ok" in out and "3374 new" in out


def test_password_is_never_printed(cli, monkeypatch, pg_database_url):
    url = pg_database_url.replace("postgres@", "postgres:s3cr3t@")
    monkeypatch.setenv("EXOWATCH_DATABASE_URL", url)
    code, out, err = cli("status")
    assert "s3cr3t" not in out + err


def test_uninitialised_store_exits_1_with_a_hint(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("EXOWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    code, _, err = cli("status")
    assert code == 1
    assert err.strip().endswith("is not initialised: run `exowatch init`")
    assert len(err.strip().splitlines()) == 1


def test_unreachable_database_exits_1_with_one_line(cli, monkeypatch):
    monkeypatch.setenv("EXOWATCH_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code, _, err = cli("init")
    assert code == 1
    assert err.startswith("exowatch: error: database error: ")
    assert len(err.strip().splitlines()) == 1


def test_bad_config_exits_2_naming_file_and_key(cli, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[database]\nbatch_sise = 5\n")
    code, _, err = cli("--config", str(config), "status")
    assert code == 2
    assert err.strip() == (
        f"exowatch: error: {config}: unknown key 'database.batch_sise' "
        "(keys allowed in [database]: batch_size, busy_timeout_seconds, url)"
    )


def test_usage_errors_exit_2_with_one_line(cli, tmp_path):
    for args, problem in (
        (("import-letters",), "Missing argument 'FILES...'"),
        (("no-such-command",), "No such command 'no-such-command'"),
        (("--config", str(tmp_path), "status"), "is a directory"),
        (("status", "--events", "-1"), "Invalid value for '--events'"),
    ):
        code, out, err = cli(*args)
        assert code == 2, args
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("exowatch: error: ") and problem in err


def test_console_script_entry_point_runs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for command in ("init", "import-letters", "status"):
        assert command in result.stdout
