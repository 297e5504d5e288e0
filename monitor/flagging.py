"""The flagger: run the rules on new and changed pages, and keep one flag per (clinic, rule).

`run_flagger(store)` assesses every page whose current text it has not assessed under the current
rules (all of them when a rule's or the lexicon's version changed), stores each page's findings,
then brings the flags of the clinics concerned up to date, each transition with one event:

* `flag.opened`: a rule's finding on a clinic's page, with no open flag for it (also when a
  resolved flag's advertising returns: the event says `reopened`);
* `flag.escalated`: a flagged page names a product or firm named in a stored FDA warning letter or
  notice (the flag cites it, and its severity becomes high);
* `flag.resolved`: the page where the flag was found was re-crawled with a new text that no longer
  shows the advertising, and no other page of the clinic shows it. A rule change alone never
  resolves a flag: only a page that changed can say the advertising is gone.

A re-run with nothing new writes nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from db.store import Store
from monitor.rules.flagger import RULES, FdaIndex, Verdict, assess_page
from monitor.rules.lexicon import load_lexicon
from monitor.rules.model import load_model

ESCALATION_RULE = "fda_named_product"
#: Names too generic to cite an FDA action by (a letter's firm may be "Clinic" or a product "Serum").
GENERIC_NAMES = frozenset(
    {"exosome", "exosomes", "stem cell", "stem cells", "serum", "clinic", "the", "inc", "llc"}
)
_LEGAL = re.compile(r",?\s+(?:inc|llc|l\.l\.c|ltd|co|corp|corporation|pllc|pc)\.?$", re.I)


@dataclass
class FlagReport:
    pages_assessed: int = 0
    opened: int = 0
    escalated: int = 0
    resolved: int = 0

    def line(self) -> str:
        return (
            f"{self.pages_assessed} pages assessed; flags: {self.opened} opened, {self.escalated} escalated, "
            f"{self.resolved} resolved"
        )


def rules_version() -> str:
    """One string that changes when any rule's version, the lexicon's or the page model's
    version changes."""
    rules = ",".join(f"{rule}:{version}" for rule, (version, _) in sorted(RULES.items()))
    digest = hashlib.sha256(rules.encode()).hexdigest()[:8]
    return f"lexicon{load_lexicon().version}-rules{digest}-model{load_model().version}"


def fda_index(store: Store) -> FdaIndex:
    index = FdaIndex()
    for raw, cite in store.fda_names():
        name = _LEGAL.sub("", " ".join(raw.split())).strip().lower()
        if len(name) >= 4 and name not in GENERIC_NAMES:
            cites = index.names.setdefault(name, [])
            if cite not in cites:
                cites.append(cite)
    return index


def run_flagger(store: Store, *, everything: bool = False, source: str = "flagger") -> FlagReport:
    fda = fda_index(store)
    # what FDA has named is part of what a page is assessed under: a new letter re-assesses pages
    named = hashlib.sha256("\n".join(sorted(fda.names)).encode()).hexdigest()[:8]
    version = f"{rules_version()}-fda{named}"
    report = FlagReport()
    pages = store.pages_to_assess(version, everything=everything)
    verdicts = {page["id"]: _assess(page, fda, site_offers=False) for page in pages}
    # A clinic whose price list or booking page offers exosome products offers them on its
    # explainer pages too: those are judged again knowing it (a lower bar for the page model).
    offering = {page["clinic_id"] for page in pages if verdicts[page["id"]].flag}
    unflagged = [page for page in pages if not verdicts[page["id"]].flag]
    if unflagged:
        stored = store.flags_of({page["clinic_id"] for page in unflagged})
        offering |= {clinic for (clinic, _), flag in stored.items() if flag["status"] != "resolved"}
        for page in unflagged:
            if page["clinic_id"] in offering:
                verdicts[page["id"]] = _assess(page, fda, site_offers=True)
    assessed = []
    for page in pages:
        findings = [finding.as_dict() for finding in verdicts[page["id"]].findings]
        assessed.append((page["id"], findings, f"{page['content_hash']} {version}"))
    clinics = {page["clinic_id"] for page in pages}
    store.save_findings(assessed)
    report.pages_assessed = len(assessed)
    if not clinics:
        return report
    changes = decide(store.clinic_findings(clinics), store.flags_of(clinics))
    store.write_flags(changes, source=source)
    for change in changes:
        kind = change["event"].split(".", 1)[1]
        setattr(report, kind, getattr(report, kind) + 1)
    return report


def _assess(page: Mapping[str, Any], fda: FdaIndex, *, site_offers: bool) -> Verdict:
    """A crawled page is a clinic's own: the clinic was found in a directory or a seed list."""
    return assess_page(
        page["text"] or "",
        title=page["title"],
        url=page["url"],
        site_kind="clinic",
        site_offers=site_offers,
        fda=fda,
    )


def decide(
    pages_by_clinic: Mapping[int, list[dict[str, Any]]], flags: Mapping[tuple[int, str], dict[str, Any]]
) -> list[dict[str, Any]]:
    """The flag changes (each with the event it writes) that bring `flags` in line with the
    clinics' current page findings. Pure: the store reads and writes around it."""
    changes: list[dict[str, Any]] = []
    for clinic_id, pages in sorted(pages_by_clinic.items()):
        shown: dict[str, tuple[dict, dict]] = {}  # rule -> (page, finding): its best evidence
        cites: list[dict] = []
        for page in pages:
            for finding in page["findings"]:
                if finding["rule_id"] == ESCALATION_RULE:
                    cites.extend(c for c in finding["cites"] if c not in cites)
                    continue
                best = shown.get(finding["rule_id"])
                if best is None or _evidence_rank(page, finding) < _evidence_rank(*best):
                    shown[finding["rule_id"]] = (page, finding)
        by_page = {page["page_id"]: page for page in pages}
        for rule_id, (page, finding) in sorted(shown.items()):
            flag = flags.get((clinic_id, rule_id))
            evidence = _evidence(page, finding, cites)
            base = {
                "id": flag["id"] if flag else None,
                "clinic_id": clinic_id,
                "rule_id": rule_id,
                "rule_version": finding["rule_version"],
                "page_id": page["page_id"],
                "evidence": evidence,
            }
            if flag is None or flag["status"] == "resolved":
                changes.append(
                    {
                        **base,
                        "status": "open",
                        "severity": finding["severity"],
                        "event": "flag.opened",
                        "reopened": flag is not None,
                    }
                )
                if cites:
                    changes.append(
                        {**base, "status": "escalated", "severity": "high", "event": "flag.escalated"}
                    )
            elif cites and flag["status"] == "open":
                changes.append({**base, "status": "escalated", "severity": "high", "event": "flag.escalated"})
        for (flag_clinic, rule_id), flag in sorted(flags.items()):
            if flag_clinic != clinic_id or flag["status"] == "resolved" or rule_id in shown:
                continue
            where = by_page.get(flag["page_id"])
            seen = (flag["evidence"] or {}).get("content_hash")
            if where is None or where["content_hash"] == seen:
                continue  # the page where it was found has not changed: only a re-crawl can resolve
            changes.append(
                {
                    "id": flag["id"],
                    "clinic_id": clinic_id,
                    "rule_id": rule_id,
                    "rule_version": flag["rule_version"],
                    "page_id": flag["page_id"],
                    "evidence": {
                        **(flag["evidence"] or {}),
                        "resolved_by_content_hash": where["content_hash"],
                    },
                    "status": "resolved",
                    "severity": flag["severity"],
                    "event": "flag.resolved",
                }
            )
    return changes


def _evidence_rank(page: dict[str, Any], finding: dict[str, Any]) -> tuple[int, int, str]:
    """Which page a flag cites when several show its rule: the one with the most matched phrases,
    then the shortest URL (a service page before a blog post under it), then the URL. The same
    evidence every run, whatever order the crawl found the pages in."""
    return (-len(finding["phrases"]), len(page["url"]), page["url"])


def _evidence(page: dict[str, Any], finding: dict[str, Any], cites: list[dict]) -> dict[str, Any]:
    return {
        "url": page["url"],
        "page_id": page["page_id"],
        "content_hash": page["content_hash"],
        "snippet": finding["snippet"],
        "start": finding["start"],
        "end": finding["end"],
        "phrases": finding["phrases"],
        "cites": cites,
    }
