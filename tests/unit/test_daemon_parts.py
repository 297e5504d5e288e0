"""The daemon's pure parts: schedules, its [daemon] config, the jobs a config asks for, the file lead."""

from __future__ import annotations

import pytest

from monitor.config import Config, load_config
from monitor.daemon import job_specs
from monitor.errors import ConfigError, ExowatchError
from monitor.leader import FileLead, lead_for
from monitor.schedules import parse_schedule


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("every 30s", 30), ("every 15m", 900), ("EVERY 6h", 21600), ("every  1d", 86400), ("0 7 * * 1-5", None)],
)
def test_schedules_are_intervals_or_cron_lines(text, seconds):
    schedule = parse_schedule(text)
    assert schedule.interval_seconds == seconds
    assert schedule.trigger() is not None


@pytest.mark.parametrize("text", ["every 2s", "every day", "hourly", "0 7 * *", "61 7 * * *", "every 5w"])
def test_a_bad_schedule_is_refused(text):
    with pytest.raises(ValueError):
        parse_schedule(text)


def test_the_daemon_table_is_checked_and_names_the_key(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[daemon]\nschedules = { fda_notices = "every 10m" }\n', encoding="utf-8")
    loaded = load_config(config)
    assert loaded.daemon.schedule_for("fda_notices") == "every 10m"
    assert loaded.daemon.schedule_for("clinic_sites") == "0 4 * * *"  # left out: its default
    config.write_text('[daemon]\nschedules = { fda_notices = "sometimes" }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"daemon\.schedules\.fda_notices"):
        load_config(config)
    config.write_text('[daemon]\nschedules = { fda_letters = "every 1h" }\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"daemon\.schedules\.fda_letters"):
        load_config(config)
    config.write_text('[[channels]]\nname = "feed"\nkind = "feed"\nschedule = "7am"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"channels\.feed\.schedule"):
        load_config(config)


def test_the_jobs_a_config_asks_for():
    specs = {spec.id: spec for spec in job_specs(Config(), "/etc/exowatch/config.toml")}
    # no clinic listing is configured by default: nothing to crawl there
    assert sorted(specs) == [
        "crawl:clinic_sites",
        "crawl:fda_notices",
        "crawl:fda_warning_letters",
        "crawl:fda_warning_letters:full",
    ]
    assert specs["crawl:fda_notices"].args == ("/etc/exowatch/config.toml", "fda_notices", False)
    assert specs["crawl:fda_notices"].run_at_once and not specs["crawl:clinic_sites"].run_at_once
    assert specs["crawl:fda_warning_letters:full"].args[2] is True


def test_one_file_lead_per_database_and_the_waiting_one_is_told_who_leads(tmp_path):
    database = f"sqlite:///{tmp_path / 'store.db'}"
    first, second = lead_for(database, "exowatch daemon pid 1 on a"), lead_for(database, "pid 2")
    assert isinstance(first, FileLead)
    assert first.acquire() and first.still_held()
    assert not second.acquire()
    assert second.holder() == "exowatch daemon pid 1 on a"
    first.release()
    assert second.acquire() and second.still_held()
    (tmp_path / "store.db.daemon.lock").unlink()  # a lock file removed under the leader
    assert not second.still_held()
    second.release()


def test_an_in_memory_store_cannot_have_a_daemon():
    with pytest.raises(ExowatchError, match="in-memory"):
        lead_for("sqlite:///:memory:")
