"""Flagging: rules over a page's text that say whether it offers exosome products, and how
seriously (monitor/rules/flagger.py), from a lexicon that is data (monitor/rules/lexicon.toml)."""

from monitor.rules.flagger import Finding, Verdict, assess_page

__all__ = ["Finding", "Verdict", "assess_page"]
