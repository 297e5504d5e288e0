"""The reliability suite: fault and attack probes, one test each, run in CI with the rest.

Every test here is a probe. Besides passing or failing, a probe adds what it measured to one
account, printed at the end of the run as a single line:

    reliability: 180 probes run, 180 passed, 0 rows lost, 0 duplicates, 0 forbidden connections

* forbidden connections: TCP connections a tripwire (a listener on an address the program must
  never reach) accepted, or requests a forbidden test server received;
* rows lost: records a probe expected to find stored after the fault and did not;
* duplicates: records, events or messages found more than once where once is the rule.

A probe asserts its own measures are zero, so a bad measure fails it; the account says how many
of each were seen, so a run states them instead of implying them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.reliability.tripwire import Tripwire

SUITE = Path(__file__).parent


@dataclass
class Measures:
    rows_lost: int = 0
    duplicates: int = 0
    forbidden_connections: int = 0


@dataclass
class Account:
    measures: Measures = field(default_factory=Measures)
    outcomes: dict[str, str] = field(default_factory=dict)  # nodeid -> passed, failed, skipped

    def line(self) -> str:
        runs = [o for o in self.outcomes.values() if o != "skipped"]
        skipped = len(self.outcomes) - len(runs)
        m = self.measures
        return (
            f"reliability: {len(runs)} probes run, {runs.count('passed')} passed, "
            f"{m.rows_lost} rows lost, {m.duplicates} duplicates, "
            f"{m.forbidden_connections} forbidden connections"
            + (f", {skipped} skipped" if skipped else "")
        )


ACCOUNT = Account()


class Probe:
    """What one probe measured; added to the account when the test ends, whatever its outcome."""

    def __init__(self) -> None:
        self.measures = Measures()
        self.tripwires: list[Tripwire] = []

    def lost(self, count: int) -> int:
        self.measures.rows_lost += max(count, 0)
        return count

    def duplicates(self, count: int) -> int:
        self.measures.duplicates += max(count, 0)
        return count

    def forbidden(self, count: int) -> int:
        self.measures.forbidden_connections += max(count, 0)
        return count

    def expect_rows(self, expected: int, stored: int) -> int:
        """Rows lost: those expected and not stored."""
        return self.lost(expected - stored)

    def close(self) -> Measures:
        for wire in self.tripwires:
            self.forbidden(wire.close())
        return self.measures


@pytest.fixture(autouse=True)
def probe() -> Iterator[Probe]:
    measured = Probe()
    yield measured
    total = measured.close()
    ACCOUNT.measures.rows_lost += total.rows_lost
    ACCOUNT.measures.duplicates += total.duplicates
    ACCOUNT.measures.forbidden_connections += total.forbidden_connections


@pytest.fixture
def tripwire(probe: Probe) -> Tripwire:
    """Listeners nothing may reach (127.0.0.1, 127.0.0.2 and ::1 on one port); every connection
    they accept counts as a forbidden connection of this probe."""
    wire = Tripwire()
    probe.tripwires.append(wire)
    return wire


def _in_suite(nodeid: str) -> bool:
    return nodeid.startswith(f"{SUITE.relative_to(SUITE.parents[1]).as_posix()}/")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not _in_suite(report.nodeid):
        return
    before = ACCOUNT.outcomes.get(report.nodeid, "passed")
    if report.failed:
        ACCOUNT.outcomes[report.nodeid] = "failed"
    elif report.skipped and before != "failed":
        ACCOUNT.outcomes[report.nodeid] = "skipped"
    else:
        ACCOUNT.outcomes.setdefault(report.nodeid, "passed")


def pytest_terminal_summary(terminalreporter) -> None:
    if ACCOUNT.outcomes:
        terminalreporter.write_sep("-", "reliability suite")
        terminalreporter.write_line(ACCOUNT.line())
