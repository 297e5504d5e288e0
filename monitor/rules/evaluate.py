"""Score the flagger on a labelled set: `exowatch evaluate FILE.jsonl`.

One JSON object a line with `text` or `html`, `label` (`flag` or `no_flag`) and `severity`
(`high`, `medium`, `low`, or `none` for no_flag). Reported: precision, recall and F1 of flag versus
no flag; recall on the high and medium pages; the exact severity on the pages labelled flag; and
the confusion matrix of labelled against predicted severity. A bad line is an InputError naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import InputError
from monitor.rules.flagger import assess_page
from monitor.rules.pages import page_from_bytes

SEVERITIES = ("high", "medium", "low", "none")


@dataclass
class Score:
    total: int = 0
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0
    serious: int = 0  # labelled high or medium
    serious_found: int = 0
    flagged: int = 0  # labelled flag
    severity_exact: int = 0
    confusion: dict[str, dict[str, int]] = field(
        default_factory=lambda: {label: dict.fromkeys(SEVERITIES, 0) for label in SEVERITIES}
    )
    mistakes: list[dict] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def serious_recall(self) -> float:
        return self.serious_found / self.serious if self.serious else 1.0

    @property
    def severity_accuracy(self) -> float:
        return self.severity_exact / self.flagged if self.flagged else 1.0

    def add(
        self,
        page_id: str,
        label: str,
        severity: str,
        text: str,
        title: str | None,
        *,
        url: str | None = None,
        site_kind: str | None = None,
        model: bool = True,
    ) -> None:
        """Assess one labelled page (with its context, when known) and count the verdict."""
        verdict = assess_page(text, title=title, url=url, site_kind=site_kind, model=model)
        self.total += 1
        self.confusion[severity][verdict.severity] += 1
        wanted = label == "flag"
        if wanted and verdict.flag:
            self.true_positive += 1
        elif wanted:
            self.false_negative += 1
        elif verdict.flag:
            self.false_positive += 1
        else:
            self.true_negative += 1
        if severity in ("high", "medium"):
            self.serious += 1
            self.serious_found += verdict.flag
        if wanted:
            self.flagged += 1
            self.severity_exact += verdict.severity == severity
        if verdict.severity != severity:
            self.mistakes.append(
                {"id": page_id, "label": severity, "got": verdict.severity, "why": verdict.reason}
            )

    def as_dict(self) -> dict:
        return {
            "pages": self.total,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "recall_high_medium": round(self.serious_recall, 4),
            "severity_exact_on_flagged": round(self.severity_accuracy, 4),
            "confusion": self.confusion,
            "mistakes": self.mistakes,
        }


def evaluate_file(path: Path, *, model: bool = True) -> Score:
    """Score the flagger on a JSONL file whose lines carry their own text or html."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    score = Score()
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise InputError(f"{path}: line {number}: not JSON ({exc})") from None
            if not isinstance(item, dict):
                raise InputError(f"{path}: line {number}: not a JSON object")
            label, severity = item.get("label"), item.get("severity")
            if label not in ("flag", "no_flag"):
                raise InputError(f"{path}: line {number}: label must be flag or no_flag, got {label!r}")
            if severity not in SEVERITIES or (label == "no_flag") != (severity == "none"):
                raise InputError(f"{path}: line {number}: severity {severity!r} does not fit label {label!r}")
            body = item.get("html") if isinstance(item.get("html"), str) else item.get("text")
            if not isinstance(body, str) or not body.strip():
                raise InputError(f"{path}: line {number}: no text and no html")
            page = page_from_bytes(body.encode("utf-8"), what=f"{path}: line {number}")
            score.add(item.get("id", f"line {number}"), label, severity, page.text, page.title, model=model)
    if not score.total:
        raise InputError(f"{path}: no labelled pages")
    return score


@dataclass
class RealScore:
    """A score on one part of the real labelled set, and what could not be scored."""

    part: str
    score: Score
    labelled: int  # pages of the part
    missing: list[str]  # ids whose text is not saved


def evaluate_real(
    part: str, labels: Path, texts: Path, *, context: bool = True, model: bool = True
) -> RealScore:
    """Score the flagger on the `part` ("dev" or "test") of the real labelled set (monitor.rules.
    real_set): labels from the shared files, texts from `texts`, absent texts skipped and named.
    `context`: give the flagger each page's URL and its site's kind, as a crawl knows them (a
    clinic found in a directory) and as `check-page --url --site-kind` takes them. `model`:
    False scores the rules alone."""
    from monitor.rules.real_set import PARTS, load_labels, page_text, split

    if part not in PARTS:
        raise InputError(f"part must be one of {', '.join(PARTS)}, not {part!r}")
    pages = split(load_labels(labels))[part]
    score = Score()
    missing = []
    for page in pages:
        text = page_text(page, texts)
        if text is None:
            missing.append(page.id)
            continue
        # a risky negative (no_flag, low) is scored as what it must get: no flag, severity none
        severity = page.severity if page.label == "flag" else "none"
        url, kind = (page.url, page.kind) if context else (None, None)
        score.add(page.id, page.label, severity, text, None, url=url, site_kind=kind, model=model)
    if not score.total:
        raise InputError(
            f"no text saved in {texts} for any of the {len(pages)} pages of the {part} part "
            "(each is <id>.txt: the stored copy found by the record's query; see the README)"
        )
    return RealScore(part, score, len(pages), missing)
