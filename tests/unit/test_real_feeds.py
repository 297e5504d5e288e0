"""The feed reader on FDA's real feeds (tests/fixtures/fda/real/feeds/, provenance in manifest.json).

Every item of every feed is checked field by field against a truth that owes nothing to the code
under test: the raw <link>, <title>, <description> and <pubDate> read here with lxml's XML parser,
turned into expected values by the small rules below (tags out, character references read once,
whitespace collapsed; a time from <time datetime> or from email.utils with our own EDT/EST table).
A second truth is anesta95/food_safety_recalls' own parse of the same versions (its titles, and the
announcement times it read from each notice's page on fda.gov).
"""

import email.utils
import hashlib
import html
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree

from crawler.extract.feed import Feed, FeedEntry, parse_feed

FEEDS = Path(__file__).parents[1] / "fixtures" / "fda" / "real" / "feeds"
MANIFEST = json.loads((FEEDS / "manifest.json").read_text(encoding="utf-8"))
ANESTA95 = json.loads((FEEDS / "anesta95_parsed.json").read_text(encoding="utf-8"))["versions"]
FILES = [entry["file"] for entry in MANIFEST["files"]]
FIELDS = ("link", "title", "summary", "published_at")
FEED_URL = "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/{}/rss.xml"
RECALLS = "https://www.fda.gov/safety/recalls-market-withdrawals-safety-alerts/"
HEAD = "fda_food_safety_recalls__anesta95_HEAD.xml"
DRUGS_2019 = "fda_drug_recalls_2019__prof18.xml"
ZONE_HOURS = {"EDT": -4, "EST": -5}  # the only zones these feeds use
MIN_AGREEMENT = 0.99

# Where FDA's feed and FDA's notice page say different things, anesta95's parse (its times come
# from the page) differs from the feed: a title revised in the feed only, and items the feed dates
# on the day of a repost (the page keeps the company's announcement time).
KNOWN_PAGE_DIFFERENCES = {
    ("fda_food_safety_recalls_2025-07-28.xml", "chs-inc-recalls-payback-champion-lamb-feed-due-elevated-copper-health-risk", "time"),
    (HEAD, "africa-imports-issues-voluntary-recall-organic-moringa-leaf-powder-due-potential-salmonella", "time"),
    (HEAD, "moonlight-companies-voluntarily-recalls-california-grown-conventional-yellow-and-white-peaches", "time"),
    (HEAD, "moonlight-companies-voluntarily-recalls-california-grown-conventional-yellow-and-white-peaches", "title"),
}  # fmt: skip


def feed_bytes(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def read(name: str) -> Feed:
    kind = "drug-recalls" if name == DRUGS_2019 else "food-safety-recalls"
    return parse_feed(feed_bytes(name), FEED_URL.format(kind))


def raw_items(name: str) -> list[etree._Element]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.fromstring(feed_bytes(name), parser).findall("./channel/item")


# --- the truth, by rules written here ---------------------------------------------------------------


def plain(text: str | None) -> str | None:
    """An RSS text field is HTML: tags out, character references read once, whitespace collapsed."""
    text = html.unescape(re.sub(r"<[^<>]*>", " ", text or ""))
    return " ".join(text.split()) or None


def expected_link(raw: str) -> str:
    """fda.gov's http links name the https page; a trailing slash names the same page."""
    parts = urlsplit(raw.strip())
    assert parts.hostname == "www.fda.gov" and not parts.query and not parts.fragment, raw
    return "https://www.fda.gov" + parts.path.rstrip("/")


def expected_time(pub_date: etree._Element) -> datetime:
    """Drupal's <time datetime> when there is one, else an RFC 822 date with an EDT/EST zone."""
    stamp = pub_date.find("time")
    if stamp is not None:
        return datetime.fromisoformat(stamp.get("datetime")).astimezone(UTC)
    text = pub_date.text.strip()
    fields = email.utils.parsedate(text)
    zone = timezone(timedelta(hours=ZONE_HOURS[text.rsplit(" ", 1)[1]]))
    return datetime(*fields[:6], tzinfo=zone).astimezone(UTC)


def expected(item: etree._Element) -> dict[str, object]:
    return {
        "link": expected_link(item.findtext("link")),
        "title": plain(item.findtext("title")),
        "summary": plain(item.findtext("description")),
        "published_at": expected_time(item.find("pubDate")),
    }


def agreement() -> tuple[dict[str, int], int, list[str]]:
    """Items that agree, per field, over every item of every feed; and the disagreements."""
    agreed, total, misses = dict.fromkeys(FIELDS, 0), 0, []
    for name in FILES:
        items, entries = raw_items(name), read(name).entries
        assert len(entries) == len(items), name
        for item, entry in zip(items, entries, strict=True):
            total += 1
            for field, value in expected(item).items():
                if getattr(entry, field) == value:
                    agreed[field] += 1
                else:
                    misses.append(f"{name} {field}: expected {value!r}, read {getattr(entry, field)!r}")
    return agreed, total, misses


def figures(agreed: dict[str, int], total: int) -> dict[str, str]:
    return {field: f"{agreed[field]}/{total} ({agreed[field] / total:.2%})" for field in FIELDS}


# --- the fixtures are what the manifest says ---------------------------------------------------------


def test_every_fixture_feed_is_in_the_manifest_with_its_hash():
    assert sorted(FILES) == sorted(path.name for path in FEEDS.glob("*.xml"))
    for entry in MANIFEST["files"]:
        data = feed_bytes(entry["file"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["file"]
        assert data.count(b"<item>") == entry["items"] and len(entry["commit"]) == 40
    dates = [e["date"] for e in MANIFEST["files"] if e["repository"] == "anesta95/food_safety_recalls"]
    assert (
        len(dates) == 12 and dates == sorted(dates) and (dates[0], dates[-1]) == ("2024-11-14", "2025-11-13")
    )


# --- every item of every real feed against the truth -----------------------------------------------------


def test_every_field_of_every_item_agrees_with_the_raw_feed():
    agreed, total, misses = agreement()
    measured = figures(agreed, total)
    message = f"agreement over {total} items: {measured}; first disagreements: {misses[:10]}"
    assert total == sum(entry["items"] for entry in MANIFEST["files"])
    assert all(agreed[field] / total >= MIN_AGREEMENT for field in FIELDS), message
    assert MANIFEST["agreement"] == {"items": total, **measured}, "update manifest.json: " + message


def page_truth(name: str) -> list[tuple[FeedEntry, dict[str, str]]]:
    """The entries of a version that anesta95 parsed too, each with its record."""
    records = {r["recall_url"]: r for r in ANESTA95.get(name, {}).get("records", [])}
    pairs = []
    for item, entry in zip(raw_items(name), read(name).entries, strict=True):
        record = records.get(item.findtext("guid").strip())
        if record is not None:
            pairs.append((entry, record))
    return pairs


def test_titles_and_times_agree_with_anesta95s_own_parse():
    compared, differences = 0, set()
    for name in FILES:
        for entry, record in page_truth(name):
            compared += 1
            slug = entry.link.removeprefix(RECALLS)
            if entry.title != " ".join(record["title"].split()):
                differences.add((name, slug, "title"))
            if entry.published_at != datetime.fromisoformat(record["company_announce_dttm"]):
                differences.add((name, slug, "time"))
    agreed = {what: compared - sum(1 for *_, w in differences if w == what) for what in ("title", "time")}
    measured = {"items_compared": compared, **{w: f"{n}/{compared}" for w, n in agreed.items()}}
    assert differences == KNOWN_PAGE_DIFFERENCES, sorted(differences ^ KNOWN_PAGE_DIFFERENCES)
    assert MANIFEST["agreement_anesta95"] == measured, f"update manifest.json: {measured}"


# --- known values, by hand --------------------------------------------------------------------------------


def test_the_2019_feed_takes_its_times_from_the_time_element():
    entries = read(DRUGS_2019).entries
    assert b'<time datetime="2019-05-03T19:21:28Z">Fri, 05/03/2019 - 15:21</time>' in feed_bytes(DRUGS_2019)
    assert entries[0].published_at == datetime(2019, 5, 3, 19, 21, 28, tzinfo=UTC)
    assert all(e.published_at is not None for e in entries) and len(entries) == 20


def test_the_2019_feed_falls_back_to_the_eastern_time_text():
    data = feed_bytes(DRUGS_2019).replace(b'<time datetime="2019-05-03T19:21:28Z">', b"<time>", 1)
    entry = parse_feed(data, FEED_URL.format("drug-recalls")).entries[0]
    assert entry.published_at == datetime(2019, 5, 3, 19, 21, tzinfo=UTC)  # 15:21 EDT


def test_the_2019_feeds_reindented_links_and_titles_are_clean():
    entry = read(DRUGS_2019).entries[0]
    assert entry.link == (
        RECALLS
        + "vivimed-life-sciences-pvt-ltd-issues-voluntary-nationwide-recall-losartan-potassium-25-mg-50-mg-and"
    )
    assert entry.title == (
        "Vivimed Life Sciences Pvt Ltd Issues Voluntary Nationwide Recall of Losartan Potassium 25 mg, 50 mg "
        "and 100 mg Tablets, USP Due to the Detection of Trace Amounts of N-Nitroso-N-methyl-4-aminobutyric "
        "acid (NMBA) Impurity"
    )
    assert "US Food & Drug Administration’s interim" in entry.summary


def by_slug(name: str, slug: str) -> FeedEntry:
    return next(e for e in read(name).entries if e.link == RECALLS + slug)


def test_a_double_escaped_description_is_decoded_once():
    assert b"New Hoque &amp;amp; Sons Inc. of Maspeth, NY" in feed_bytes(HEAD)
    entry = by_slug(HEAD, "new-hoque-sons-inc-issues-alert-uneviscerated-dry-ghoinnya-fish")
    assert entry.title == "New Hoque & Sons Inc Issues Alert on Uneviscerated “Dry Ghoinnya Fish”"
    assert entry.summary.startswith("New Hoque & Sons Inc. of Maspeth, NY, is recalling its packages of")
    assert "&amp;" not in entry.summary


def test_escaped_line_breaks_and_ampersands_together():
    assert b"Tomato &amp;amp; Basil&lt;br&gt;" in feed_bytes(HEAD)
    slug = (
        "first-and-last-bakery-llc-recalls-first-and-last-brand-tomato-sauce-products-because-possible-health"
    )
    summary = by_slug(HEAD, slug).summary
    assert "First and Last Original Marinara Sauce, Tomato & Basil" in summary
    assert "<br" not in summary and "&" not in summary.replace("Tomato & Basil", "")


def test_edt_and_est_are_converted_to_utc():
    assert b"<pubDate>Sat, 26 Oct 2024 22:09:00 EDT</pubDate>" in feed_bytes(
        "fda_food_safety_recalls_2024-11-14.xml"
    )
    edt = by_slug(
        "fda_food_safety_recalls_2024-11-14.xml",
        "fresh-express-voluntarily-recalling-limited-number-gourmet-cafe-chicken-caesar-salad-bowls",
    )
    assert edt.published_at == datetime(2024, 10, 27, 2, 9, tzinfo=UTC)  # into the next day in UTC
    assert b"<pubDate>Wed, 12 Nov 2025 09:14:00 EST</pubDate>" in feed_bytes(HEAD)
    est = by_slug(HEAD, "food-live-voluntarily-recalls-organic-moringa-products-because-possible-health-risk")
    assert est.published_at == datetime(2025, 11, 12, 14, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "title"),
    [
        (
            "fda_food_safety_recalls_2025-02-15.xml",
            "Tri-Union Seafoods Issues Recall of Select Genova®, Van Camp’s®, H-E-B and Trader Joe’s® Tuna Cans "
            "Due to Clostridium Botulinum Risk",
        ),
        (
            "fda_food_safety_recalls_2025-06-26.xml",
            "Vita-Warehouse Corp. Issues Allergy Alert on Undeclared Peanut Allergen in ALDI Welby®, Berkley "
            "Jensen®, and VitaGlobe™ Vitamin B12 Gummy Products",
        ),
        (
            "fda_food_safety_recalls_2025-07-28.xml",
            "YoCrunch® Products Voluntarily Recalled by Danone U.S. Due to Potential Presence of Plastic Pieces "
            "in Dome Topper",
        ),
    ],
)
def test_titles_keep_their_trademark_signs_whole(name, title):
    assert title in [e.title for e in read(name).entries]
