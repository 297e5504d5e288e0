"""What a digest's subject and section headings count: a flag names a business, so the count of
clinics flagged counts clinics, not flag changes."""

from alerts.digest import Digest, Item
from alerts.render import render_text, subject


def _flag(event_id: int, clinic: str, rule: str, kind: str = "flag.opened") -> Item:
    return Item(event_id, kind, f"{clinic} (US)", None, (f"high - {rule}",), severity="high", clinic=clinic)


def _digest(**sections) -> Digest:
    return Digest(channel="analysts", first_event_id=1, last_event_id=9, sections=sections)


def test_a_clinic_with_two_flags_and_an_escalation_counts_once():
    digest = _digest(
        letters=(Item(1, "letter.new", "Kimera Labs, Inc.", None),),
        flags=(
            _flag(2, "glow.example", "exosome_route"),
            _flag(3, "glow.example", "exosome_condition"),
            _flag(4, "glow.example", "fda_named_product", kind="flag.escalated"),
            _flag(5, "skin.example", "exosome_cosmetic"),
        ),
    )
    assert digest.counts()["flags"] == 2
    assert subject(digest) == "exowatch analysts: 1 FDA warning letter, 2 clinics flagged"
    text = render_text(digest)
    assert "== Clinics flagged (2)" in text and text.count("glow.example (US)") == 3


def test_the_subject_speaks_of_one_and_of_several():
    one = _digest(notices=(Item(1, "notice.new", "A", None),), flags=(_flag(2, "glow.example", "r"),))
    assert subject(one) == "exowatch analysts: 1 FDA safety notice, 1 clinic flagged"
    several = _digest(
        sources=(Item(1, "source.failing", "a", None), Item(2, "source.failing", "b", None)),
    )
    assert subject(several) == "exowatch analysts: 2 sources failing"
