"""The flagger's throughput in MB/s of page text, against one Aho-Corasick pass of its lexicon.

Why it measures the way it does:

* The texts: the visible text of every page of the replayed clinic web (tests/fixtures/clinics/,
  24 sites in seven languages, extracted as the clinic crawl extracts it), the labelled
  development set when present (tests/fixtures/flagging/dev_set.jsonl), repeated to about 4 MB.
* The baseline is the least any flagger must do: one pyahocorasick pass of every phrase of the
  lexicon (monitor/rules/lexicon.toml) over each lower-cased text, counting the hits.
* The rules side is `assess_page(model=False)` on each text: the same pass plus word boundaries,
  prices, the page's context, the rules and the evidence snippets. Goal: a ratio of at least 0.5.
* The flagger side is `assess_page` as a crawl calls it (a clinic's page, with its URL): the rules
  and, on each page naming an exosome product, the page model (hashing its n-grams, one dot
  product). Reported: pages a second and CPU milliseconds a page, beside the rules' own.
* Same texts, same process; the sides alternate, each side's best round is taken. Nothing is
  asserted.

Run: `python bench/rules.py` (EXOWATCH_BENCH_MB, EXOWATCH_BENCH_ROUNDS to change it).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import ahocorasick

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crawler.extract.clinic_page import parse_clinic_page  # noqa: E402
from monitor.rules.flagger import assess_page  # noqa: E402
from monitor.rules.lexicon import load_lexicon  # noqa: E402

TARGET_MB = float(os.environ.get("EXOWATCH_BENCH_MB", "4"))
ROUNDS = int(os.environ.get("EXOWATCH_BENCH_ROUNDS", "5"))
GOAL = 0.5


def texts() -> list[str]:
    found = []
    manifest = json.loads((ROOT / "tests/fixtures/clinics/web/manifest.json").read_text("utf-8"))
    for entry in manifest:
        kind = entry.get("headers", {}).get("Content-Type", "")
        if entry.get("file") and kind.startswith("text/html"):
            body = (ROOT / "tests/fixtures/clinics" / entry["file"]).read_bytes()
            found.append(parse_clinic_page(body, entry["url"], encoding="utf-8").text)
    dev = ROOT / "tests/fixtures/flagging/dev_set.jsonl"
    if dev.is_file():
        for line in dev.read_text("utf-8").splitlines():
            item = json.loads(line)
            if isinstance(item.get("text"), str):
                found.append(item["text"])
    corpus, size = [], 0
    while size < TARGET_MB * 1024 * 1024:
        for text in found:
            corpus.append(text)
            size += len(text.encode("utf-8"))
    return corpus


def baseline_automaton() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for phrases in load_lexicon().phrases.values():
        for phrase in phrases:
            key = phrase.rstrip("*").lower()
            automaton.add_word(key, key)
    automaton.make_automaton()
    return automaton


def main() -> int:
    corpus = texts()
    megabytes = sum(len(t.encode("utf-8")) for t in corpus) / 1024 / 1024
    automaton = baseline_automaton()
    print(
        f"{len(corpus)} page texts, {megabytes:.1f} MB; best of {ROUNDS} rounds, sides alternating",
        flush=True,
    )
    sides = ("baseline", "rules", "flagger")
    best = dict.fromkeys(sides, float("inf"))
    cpu = dict.fromkeys(sides, float("inf"))
    flagged = dict.fromkeys(sides, 0)
    hits = 0
    url = "https://clinic.example/treatments/exosome/"
    assess_page(corpus[0], url=url, site_kind="clinic")  # load the model outside the timing
    for round_no in range(ROUNDS):
        order = sides if round_no % 2 == 0 else tuple(reversed(sides))
        for side in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            if side == "baseline":
                hits = sum(1 for text in corpus for _ in automaton.iter(text.lower()))
            elif side == "rules":
                flagged[side] = sum(assess_page(text, model=False).flag for text in corpus)
            else:
                flagged[side] = sum(assess_page(text, url=url, site_kind="clinic").flag for text in corpus)
            best[side] = min(best[side], time.perf_counter() - start)
            cpu[side] = min(cpu[side], time.process_time() - start_cpu)
    rates = {side: megabytes / best[side] for side in sides}
    pages = len(corpus)
    print(f"one Aho-Corasick pass of the lexicon: {rates['baseline']:.1f} MB/s ({hits:,} hits)")
    for side, name in (("rules", "rules alone (model=False)"), ("flagger", "flagger with the page model")):
        print(
            f"{name}: {rates[side]:.1f} MB/s, {pages / best[side]:,.0f} pages/s, "
            f"{cpu[side] / pages * 1000:.3f} ms CPU a page ({flagged[side]:,} pages flagged)"
        )
    print(f"ratio, rules to one pass: {rates['rules'] / rates['baseline']:.2f} (goal >= {GOAL:.2f})")
    print(f"ratio, flagger with the model to one pass: {rates['flagger'] / rates['baseline']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
