"""Relevance tagging throughput on the real FDA letters against a Python `re` alternation, as ratios.

Why it measures the way it does:

* The number that matters is a ratio measured in the same run, not MB/s: absolute speed depends
  on the machine. The baseline is what one would write without the automaton: one compiled
  `re` alternation of every phrase form in lexicon.toml (longest first, case-insensitive except
  the case-sensitive entries, any run of whitespace or dashes between words, whole words only),
  scanned with finditer over the original text.
* Two numbers against it:
  - `matcher`: crawler.relevance's fold + Aho-Corasick scan + whole-word checks; the same job as
    the baseline (find every phrase), so this ratio is the hot-path comparison;
  - `tag_text`: the whole tagger, i.e. the matcher plus the negation / unrelated-context verdicts
    and the Tag records. The baseline does none of that work, so this ratio is a lower bound.
  `assess` (tags and product names, what the letter pipeline calls) is shown for the budget, no ratio.
* Same texts: the five real letters (tests/fixtures/fda/letters/letter_*.json, `fullContent`),
  each tagged on its own, as the pipeline does. The automaton and the regex are built before
  timing (build times are printed apart).
* Noise: every side runs in several rounds, alternating order; each side's rate is its best round.
* Nothing is asserted about timings. Match counts are printed beside the rates, so a ratio of two
  different workloads would show.

Run: `python bench/lexicon.py`.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.relevance import assess  # noqa: E402
from crawler.relevance.lexicon import load_lexicon  # noqa: E402
from crawler.relevance.matcher import get_matcher  # noqa: E402
from crawler.relevance.tagger import tag_text  # noqa: E402

LETTERS = ROOT / "tests" / "fixtures" / "fda" / "letters"
ROUNDS = 7
TARGET_SECONDS = 0.4  # per side per round
_SEPARATOR = r"[\s\-\u2010-\u2015\u2212]+"


def letters() -> list[str]:
    paths = sorted(LETTERS.glob("letter_*.json"))
    texts = [json.loads(path.read_text("utf-8"))["fullContent"] for path in paths]
    if not texts:
        raise SystemExit(f"no letters under {LETTERS}")
    return texts


def baseline_pattern() -> re.Pattern[str]:
    forms = []
    for entry in load_lexicon().entries:
        for form in entry.forms:
            words = re.split(r"[\s\-]+", form.replace("\u2019", "'"))
            body = _SEPARATOR.join(re.escape(word) for word in words)
            forms.append((len(form), body if not entry.case_sensitive else f"(?-i:{body})"))
    forms.sort(key=lambda item: -item[0])
    return re.compile(r"(?<!\w)(?:" + "|".join(body for _, body in forms) + r")(?!\w)", re.IGNORECASE)


def rate(work, texts: list[str], megabytes: float) -> float:
    """MB/s of the best of a few repetitions filling about TARGET_SECONDS."""
    start = time.perf_counter()
    repeats = 0
    while True:
        for text in texts:
            work(text)
        repeats += 1
        elapsed = time.perf_counter() - start
        if elapsed >= TARGET_SECONDS:
            return megabytes * repeats / elapsed


def main() -> None:
    texts = letters()
    megabytes = sum(len(text.encode("utf-8")) for text in texts) / 1e6

    started = time.perf_counter()
    matcher = get_matcher()
    automaton_seconds = time.perf_counter() - started
    started = time.perf_counter()
    pattern = baseline_pattern()
    pattern.search("warm up the compiled pattern")
    regex_seconds = time.perf_counter() - started
    forms = sum(len(entry.forms) for entry in matcher.lexicon.entries)

    sides = {
        "re alternation": lambda text: sum(1 for _ in pattern.finditer(text)),
        "matcher": lambda text: len(matcher.find(text)),
        "tag_text": tag_text,
        "assess": assess,
    }
    counts = {
        "re alternation": sum(sum(1 for _ in pattern.finditer(text)) for text in texts),
        "matcher": sum(len(matcher.find(text)) for text in texts),
        "tag_text": sum(len(tag_text(text)) for text in texts),
        "assess": sum(len(assess(text).products) for text in texts),
    }
    best = dict.fromkeys(sides, 0.0)
    names = list(sides)
    for round_index in range(ROUNDS):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            best[name] = max(best[name], rate(sides[name], texts, megabytes))

    print(f"corpus: {len(texts)} real FDA letters, {megabytes * 1e3:.1f} KB; lexicon: {forms} phrase forms")
    print(
        f"build: automaton {automaton_seconds * 1e3:.1f} ms (once per process),"
        f" re {regex_seconds * 1e3:.1f} ms"
    )
    print(f"{'side':<16}{'MB/s':>9}   found")
    for name in names:
        unit = {"tag_text": "tags", "assess": "product names"}.get(name, "matches")
        print(f"{name:<16}{best[name]:>9.2f}   {counts[name]} {unit}")
    baseline = best["re alternation"]
    print(f"ratio matcher / re alternation:  {best['matcher'] / baseline:.2f}")
    print(
        f"ratio tag_text / re alternation: {best['tag_text'] / baseline:.2f}"
        "  (tag_text also judges every match)"
    )


if __name__ == "__main__":
    main()
