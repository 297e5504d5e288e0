"""When a daemon job runs, as written in config.toml: "every 6h" or a five-field cron line (UTC).

One parser for the sources' and the channels' schedules, so both accept the same forms and a bad
one is a config error that names its key. APScheduler is imported only to build triggers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_EVERY = re.compile(r"every\s+(\d{1,6})\s*(s|m|h|d)", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_SECONDS = 5  # shorter is a typo, not a schedule (tests use 5 s and more)


@dataclass(frozen=True)
class Schedule:
    text: str
    interval_seconds: int | None  # "every ..."; None for a cron line

    def trigger(self) -> Any:
        """The APScheduler trigger, in UTC."""
        if self.interval_seconds is not None:
            from apscheduler.triggers.interval import IntervalTrigger

            return IntervalTrigger(seconds=self.interval_seconds, timezone="UTC")
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger.from_crontab(self.text, timezone="UTC")


def parse_schedule(text: str) -> Schedule:
    """ "every 30s|m|h|d" or a cron line such as "0 7 * * 1-5"; anything else is a ValueError."""
    if not isinstance(text, str):
        raise ValueError("a schedule must be a string")
    stripped = " ".join(text.split())
    every = _EVERY.fullmatch(stripped)
    if every:
        seconds = int(every.group(1)) * _UNIT_SECONDS[every.group(2).lower()]
        if seconds < MIN_INTERVAL_SECONDS:
            raise ValueError(f"an interval of at least {MIN_INTERVAL_SECONDS} seconds, not {text!r}")
        return Schedule(stripped, seconds)
    if len(stripped.split()) != 5:
        raise ValueError(f"'every <n>s|m|h|d' or a cron line of five fields, not {text[:60]!r}")
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(stripped, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"a valid cron line, not {text[:60]!r} ({exc})") from None
    return Schedule(stripped, None)
