"""The real labelled set's loading and its one split by site (monitor.rules.real_set).

The labels are read from ../shared (what every developer and CI have beside the project); no page
text is used here: the texts a test writes are our own sentences.
"""

from __future__ import annotations

import pytest

from monitor.cli import main
from monitor.errors import InputError
from monitor.rules.evaluate import evaluate_real
from monitor.rules.real_set import DEFAULT_LABELS, TEST_SHARE, load_labels, split

pytestmark = pytest.mark.skipif(
    not DEFAULT_LABELS.is_dir(), reason=f"the shared labels are not at {DEFAULT_LABELS}"
)


def test_the_shared_labels_load_with_a_site_for_every_page():
    pages = load_labels()
    assert len(pages) == 437
    assert len({page.id for page in pages}) == 437
    assert all(page.site and "/" not in page.site for page in pages)
    assert {page.label for page in pages} == {"flag", "no_flag"}


def test_the_split_is_fixed_by_site_and_about_three_tenths_test():
    pages = load_labels()
    parts = split(pages)
    again = split(list(reversed(pages)))  # the same sides whatever order the records come in
    assert {k: sorted(p.id for p in v) for k, v in parts.items()} == {
        k: sorted(p.id for p in v) for k, v in again.items()
    }
    dev, test = parts["dev"], parts["test"]
    assert sorted(p.id for p in dev + test) == sorted(p.id for p in pages)
    assert not {p.site for p in dev} & {p.site for p in test}  # a site is on one side only
    largest_site = max(sum(p.site == site for p in pages) for site in {p.site for p in pages})
    assert abs(len(test) - TEST_SHARE * len(pages)) <= largest_site
    assert {p.label for p in test} == {"flag", "no_flag"}
    assert len({p.language for p in test}) >= 5


def test_evaluating_a_part_scores_the_saved_texts_and_names_the_missing(tmp_path):
    test = split(load_labels())["test"]
    offer = next(p for p in test if p.severity == "high")
    news = next(p for p in test if p.label == "no_flag")
    (tmp_path / f"{offer.id}.txt").write_text(
        "Book exosome IV therapy and exosome injections for knee arthritis at our clinic. "
        "Exosome IV therapy single session $1,500.",
        encoding="utf-8",
    )
    (tmp_path / f"{news.id}.txt").write_text(
        "A report on how regulators view unproven cell products, with no clinic named.", encoding="utf-8"
    )
    real = evaluate_real("test", DEFAULT_LABELS, tmp_path)
    assert real.score.total == 2 and real.labelled == len(test)
    assert len(real.missing) == len(test) - 2 and offer.id not in real.missing
    assert real.score.true_positive == 1 and real.score.true_negative == 1


def test_a_part_without_saved_texts_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(InputError, match="no text saved in .* for any of the .* pages of the dev part"):
        evaluate_real("dev", DEFAULT_LABELS, tmp_path)
    assert main(["evaluate", "--real", "dev", "--texts", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no text saved" in err
