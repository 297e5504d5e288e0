"""The flagger on the labelled development set (tests/fixtures/flagging/dev_set.jsonl, written to
the policy, see its README): the scores the issue asks for are asserted here, through the same
`exowatch evaluate` a user runs. A separate set of real pages, not in the repository, judges it too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.rules.evaluate import evaluate_file

DEV_SET = Path(__file__).resolve().parents[1] / "fixtures" / "flagging" / "dev_set.jsonl"


@pytest.fixture(scope="module")
def score():
    return evaluate_file(DEV_SET)


def test_the_set_is_large_and_varied():
    items = [json.loads(line) for line in DEV_SET.read_text("utf-8").splitlines() if line.strip()]
    assert len(items) >= 150
    assert {"high", "medium", "low", "none"} <= {item["severity"] for item in items}
    assert len({item["lang"] for item in items}) >= 6
    assert sum(item["label"] == "no_flag" for item in items) >= 60


def test_precision_for_flag_versus_no_flag_is_at_least_095(score):
    assert score.precision >= 0.95, [m for m in score.mistakes if m["label"] == "none"]


def test_recall_on_high_and_medium_pages_is_at_least_09(score):
    assert score.serious_recall >= 0.9, [m for m in score.mistakes if m["label"] in ("high", "medium")]


def test_the_exact_severity_on_at_least_80_percent_of_flagged_pages(score):
    assert score.severity_accuracy >= 0.8, [m for m in score.mistakes if m["label"] != "none"]


def test_evaluate_prints_the_scores_and_the_confusion_matrix(capsys):
    assert main(["evaluate", str(DEV_SET)]) == 0
    out = capsys.readouterr().out
    assert "flag vs no flag: precision" in out and "confusion (rows: labelled, columns: predicted)" in out
    assert main(["evaluate", str(DEV_SET), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["pages"] >= 150 and set(report["confusion"]) == {"high", "medium", "low", "none"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 1: not JSON"),
        ('{"text": "x", "label": "maybe", "severity": "none"}', "line 1: label must be flag or no_flag"),
        ('{"text": "x", "label": "flag", "severity": "none"}', "does not fit label"),
        ('{"label": "no_flag", "severity": "none"}', "line 1: no text and no html"),
    ],
)
def test_a_bad_line_is_one_error_naming_it(tmp_path, capsys, line, message):
    path = tmp_path / "set.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_check_page_reads_html_text_and_stdin(tmp_path, capsys, monkeypatch):
    import io
    import sys

    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Glow</title></head><body><nav>Home Careers</nav><main><h1>Exosome IV</h1>"
        "<p>Exosome IV infusions for long COVID. $1,500 per session. Book now.</p></main></body></html>",
        encoding="utf-8",
    )
    assert main(["check-page", str(page), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["flag"] is True and verdict["severity"] == "high"
    finding = verdict["findings"][0]
    assert {"rule_id", "rule_version", "severity", "phrases", "snippet", "start", "end"} <= set(finding)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"We offer PRP facials. Book now.")))
    assert main(["check-page", "-"]) == 0
    assert capsys.readouterr().out.startswith("flag: no (none)")
    assert main(["check-page", str(tmp_path / "missing.html")]) == 2
    assert "no such file" in capsys.readouterr().err
