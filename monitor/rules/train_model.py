"""Train the page model on the development part of the real labelled set, and write it.

    python -m monitor.rules.train_model [--labels DIR] [--texts DIR] [--out FILE] [--check]

Only the development part is read (monitor.rules.real_set.split): the test part stays unseen.
The synthetic set (tests/fixtures/flagging/dev_set.jsonl, our own writing to our policy) is
added to every fit, so that the model keeps what the rules were written for; its score is then
a training score, and the cross-validation below holds out real pages only.
Each page that names an exosome product is an example, labelled 1 when the policy flags it
(any severity) and 0 otherwise, with the same inputs the flagger gives the model at run time:
the text around the mentions, the URL, the site's kind, the lexicon's signals and the rules'
verdict; and again without URL and kind (at half weight), as `check-page FILE` shows a page.
Pages naming no product never reach the model and are left out.

The fit is deterministic (lbfgs, no sampling): the same labels and texts give the same weights.
It prints a five-fold cross-validation by site on the development part, the figures the threshold
was chosen on. `--check` trains and compares with the shipped file instead of writing it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from monitor.rules.flagger import MODEL_THRESHOLD, assess_reading, read_page
from monitor.rules.model import (
    MODEL_PATH,
    MODEL_VERSION,
    PageModel,
    context_document,
    features,
    load_model,
    model_text,
)
from monitor.rules.pages import page_from_bytes
from monitor.rules.real_set import (
    DEFAULT_LABELS,
    DEFAULT_TEXTS,
    LabelledPage,
    load_label_file,
    load_labels,
    page_text,
    split,
)

SYNTHETIC = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "flagging" / "dev_set.jsonl"
EXTRA_LABELS = Path(__file__).with_name("extra_labels.jsonl")  # real pages the project labelled
EXTRA_TEXTS = Path(".cache") / "extra-pages"
# A synthetic page counts less than a real one: enough to keep the synthetic set's score (at 0.3
# and 0.5 its recall fell below the rules'), little enough to leave the real pages the say.
SYNTHETIC_WEIGHT = 0.7
BARE_WEIGHT = 0.5  # a real page's copy without its context
C = 10.0  # inverse regularisation, chosen by the cross-validation below (3, 10, 30 tried)
FOLDS = 5


@dataclass(frozen=True)
class Example:
    page: LabelledPage | None  # None: a synthetic page
    text: str
    context: str
    label: int
    bare: bool = False  # a real page shown without its URL and site kind


def example(
    text: str, url: str | None, site_kind: str | None, label: int, page=None, title: str | None = None
) -> Example | None:
    """One page as the flagger shows it to the model (None when it names no product)."""
    reading = read_page(text, title)
    if reading is None:
        return None
    ruled = assess_reading(reading)
    context = context_document(url, title, site_kind, reading.signals(), (ruled.severity, ruled.reason))
    return Example(page, model_text(text, reading.products), context, label)


def synthetic_examples(path: Path) -> list[Example]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            page = page_from_bytes((item.get("html") or item["text"]).encode("utf-8"))
            made = example(page.text, None, None, int(item["label"] == "flag"), title=page.title)
            if made is not None:
                found.append(made)
    return found


def examples(labels: Path, texts: Path) -> tuple[list[Example], int]:
    """The development part's examples, and how many of its pages have no saved text."""
    return labelled_examples(split(load_labels(labels))["dev"], texts)


def extra_examples(labels: Path, texts: Path) -> tuple[list[Example], int]:
    """Examples of the project's own labels of more real pages (EXTRA_LABELS): no site of the
    shared set is among them, so none can reach the test part."""
    if not labels.is_file():
        return [], 0
    shared = {page.site for page in load_labels(DEFAULT_LABELS)} if DEFAULT_LABELS.is_dir() else set()
    pages = [page for page in load_label_file(labels) if page.site not in shared]
    return labelled_examples(pages, texts)


def labelled_examples(pages: list[LabelledPage], texts: Path) -> tuple[list[Example], int]:
    """Each page with a saved text, shown with its context and once more without it."""
    found, missing = [], 0
    for page in pages:
        text = page_text(page, texts)
        if text is None:
            missing += 1
            continue
        made = example(text, page.url, page.kind, int(page.label == "flag"), page)
        if made is not None:
            found.append(made)
            # and once more without its context, as `check-page FILE` shows a bare text
            found.append(replace(example(text, None, None, made.label, page), bare=True))
    return found, missing


def fit(chosen: list[Example]) -> LogisticRegression:
    matrix = features([e.text for e in chosen], [e.context for e in chosen])
    model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    weights = np.array([_weight(e) for e in chosen])
    model.fit(matrix, np.array([e.label for e in chosen]), sample_weight=weights)
    return model


def _weight(example: Example) -> float:
    if example.page is None:
        return SYNTHETIC_WEIGHT
    return BARE_WEIGHT if example.bare else 1.0


def cross_validate(found: list[Example], extra: list[Example]) -> tuple[list[Example], np.ndarray]:
    """Out-of-fold probabilities of the pages shown with their context, folds by site (as the
    split: no site on both sides); `extra` is in every training fold."""
    shown = [e for e in found if not e.bare]
    probabilities = np.zeros(len(shown))
    sites = sorted({e.page.site for e in shown})
    fold_of = {site: i % FOLDS for i, site in enumerate(_balanced(shown, sites))}
    for fold in range(FOLDS):
        model = fit([e for e in found if fold_of[e.page.site] != fold] + extra)
        held = [i for i, e in enumerate(shown) if fold_of[e.page.site] == fold]
        matrix = features([shown[i].text for i in held], [shown[i].context for i in held])
        probabilities[held] = model.predict_proba(matrix)[:, 1]
    return shown, probabilities


def _balanced(shown: list[Example], sites: list[str]) -> list[str]:
    """Sites from the most pages to the fewest (then by name): dealt round the folds in this
    order, the folds come out even, and the same every run."""
    pages = {site: 0 for site in sites}
    for e in shown:
        pages[e.page.site] += 1
    return sorted(sites, key=lambda site: (-pages[site], site))


def report(found: list[Example], probabilities: np.ndarray) -> None:
    """Precision (flag against no flag, pages labelled flag/low left out) and recall on pages
    labelled high or medium, at thresholds around the chosen one."""
    for threshold in sorted({0.5, 0.6, 0.7, MODEL_THRESHOLD, 0.8, 0.9}):
        flagged = probabilities >= threshold
        wanted = [e.page.severity in ("high", "medium") and e.label for e in found]
        unwanted = [not e.label for e in found]
        tp = sum(f and w for f, w in zip(flagged, wanted, strict=True))
        fp = sum(f and u for f, u in zip(flagged, unwanted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / sum(wanted) if sum(wanted) else 1.0
        mark = " (chosen)" if threshold == MODEL_THRESHOLD else ""
        print(
            f"  threshold {threshold:.2f}: precision {precision:.3f}, recall high+medium {recall:.3f}{mark}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
    parser.add_argument("--texts", type=Path, default=DEFAULT_TEXTS)
    parser.add_argument("--synthetic", type=Path, default=SYNTHETIC)
    parser.add_argument("--extra", type=Path, default=EXTRA_LABELS, help="the project's own labels")
    parser.add_argument("--extra-texts", type=Path, default=EXTRA_TEXTS)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--check", action="store_true", help="compare with the shipped file, write nothing")
    args = parser.parse_args(argv)
    found, missing = examples(args.labels, args.texts)
    if missing:
        print(f"train_model: {missing} development pages have no saved text in {args.texts}", file=sys.stderr)
    if not found:
        print("train_model: no examples (save the texts first; see the README)", file=sys.stderr)
        return 2
    extra = synthetic_examples(args.synthetic)
    more, more_missing = extra_examples(args.extra, args.extra_texts)
    if more_missing:
        print(f"train_model: {more_missing} extra pages: no text in {args.extra_texts}", file=sys.stderr)
    shown = [e for e in found if not e.bare]
    positives = sum(e.label for e in shown)
    negatives = len(shown) - positives
    print(
        f"{len(shown)} pages from the development part ({positives} flag, {negatives} no flag),"
        f" each also without its context; {len(extra)} from the synthetic set;"
        f" {sum(not e.bare for e in more)} more real pages labelled by the project"
    )
    extra += more
    print(f"cross-validation by site, {FOLDS} folds (real pages held out):")
    report(*cross_validate(found, extra))
    model = fit(found + extra)
    trained = PageModel(model.coef_.ravel().astype(np.float64), float(model.intercept_[0]), MODEL_VERSION)
    if args.check:
        shipped = load_model.__wrapped__(str(args.out))
        same = np.allclose(shipped.weights, trained.weights.astype(np.float32), atol=1e-6)
        print(f"{args.out}: {'the same weights' if same else 'DIFFERENT weights'}")
        return 0 if same else 1
    trained.save(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {np.count_nonzero(trained.weights)} weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
