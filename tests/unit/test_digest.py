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


def test_a_partial_crawl_tells_how_many_pages_could_not_be_read():
    from alerts.digest import build_digest
    from monitor.config import ChannelConfig

    events = [
        {
            "id": 7,
            "kind": "source.partial",
            "subject_type": "source",
            "subject_key": "fda_warning_letters",
            "summary": {
                "run_id": 3,
                "pages_failed": 2,
                "sources_failed": 0,
                "error": "2 failed: letter a: HTTP 500",
            },
        },
        {
            "id": 8,
            "kind": "source.failing",
            "subject_type": "source",
            "subject_key": "fda_notices",
            "summary": {"run_id": 4, "error": "no feed or index page could be read"},
        },
    ]
    digest = build_digest(ChannelConfig(name="ops", kind="feed"), events, {})
    partial, failing = digest.sections["sources"]
    assert partial.lines == (
        "2 pages could not be read (tried again by the next crawl)",
        "2 failed: letter a: HTTP 500",
    )
    assert failing.lines == ("no feed or index page could be read",)
    assert subject(digest) == "exowatch ops: 1 source failing, 1 source partly read"
    assert "== Source health (2)" in render_text(digest)


def test_a_letter_s_first_page_read_passes_a_tag_filter_only_with_its_tags():
    from alerts.digest import build_digest
    from monitor.config import ChannelConfig

    def read(event_id: int, slug: str) -> dict:
        changes = {"body_text": {"changed": True}, "content_hash": {"from": None, "to": "ab12"}}
        return {
            "id": event_id,
            "kind": "letter.updated",
            "subject_type": "warning_letter",
            "subject_key": slug,
            "summary": {"source": "crawl", "changes": changes},
        }

    closed = read(3, "c")
    closed["summary"]["changes"]["closeout_letter_date"] = {"from": None, "to": "2026-01-02"}
    records = {"a": {"tags": ["exosome"], "product_names": ["XoGlo"]}, "b": {"tags": []}, "c": {"tags": []}}
    channel = ChannelConfig(name="analysts", kind="feed", tags=("exosome",))
    digest = build_digest(channel, [read(1, "a"), read(2, "b"), closed], {}, records)
    letters = digest.sections["letters"]
    assert [item.title for item in letters] == ["a", "c"]  # "b" has no tag; "c" was closed out
    assert letters[0].lines[0].startswith("Its letter page was read")
    assert "Products named: XoGlo" in letters[0].lines
