"""The feed reader on the saved FDA feeds (tests/fixtures/fda/notices/site/.../rss-feeds/), on the
broken and hostile feeds next to them, and on small feeds written here for the edge cases; and the
notice type of a URL.

Expected values are written out from the feeds' own text and from expected.json, never taken from
the reader itself. No test touches the network: the loopback ports in the hostile templates are
filled with 9 (discard), and the screen refuses or drops those documents before any parser could
resolve them.
"""

import codecs
from datetime import UTC, datetime

import pytest

from crawler.errors import SourceFailure
from crawler.extract.alert_page import parse_alert_page
from crawler.extract.feed import MAX_ENTRIES, MAX_FEED_BYTES, Feed, FeedEntry, FeedError, parse_feed
from crawler.normalize.notices import notice_record, notice_type
from crawler.plans import crawl_plan
from crawler.spiders.fda_notices import FdaNoticesSpider
from monitor.config import load_config
from tests.helpers import cpu_time_limit
from tests.notices_site import FEEDS, NOTICES, SITE, expected_notices

EXPECTED = expected_notices()
MEDWATCH = "https://www.fda.gov/safety/medical-product-safety-information/"
RECALLS = "https://www.fda.gov/safety/recalls-market-withdrawals-safety-alerts/"
CBER_SAFETY = "https://www.fda.gov/vaccines-blood-biologics/safety-availability-biologics/"
CBER_CONSUMER = "https://www.fda.gov/vaccines-blood-biologics/consumers-biologics/"
EXOSOME_ALERT = MEDWATCH + "public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products"
SYNTHETIC_FEED = "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/synthetic/rss.xml"
TAG_MARKS = ("<p>", "</p>", "&lt;", "&gt;", "&amp;", "<em>", "</em>", "<")


def site_feed_bytes(name: str) -> bytes:
    return (SITE / FEEDS[name].removeprefix("https://www.fda.gov/")).read_bytes()


def site_feed(name: str) -> Feed:
    return parse_feed(site_feed_bytes(name), FEEDS[name])


def fixture(folder: str, name: str) -> bytes:
    """A broken or hostile feed; a template's {PORT} is filled with 9 (discard: nothing listens)."""
    return (NOTICES / folder / name).read_bytes().replace(b"{PORT}", b"9")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rss(items: str = "", prolog: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    return (
        f'{prolog}<rss version="2.0"><channel><title>Synthetic</title><link>https://www.fda.gov/</link>'
        f"{items}</channel></rss>"
    )


def item(title: str = "An alert", link: str | None = MEDWATCH + "an-alert", extra: str = "") -> str:
    link_element = "" if link is None else f"<link>{link}</link>"
    return f"<item><title>{title}</title>{link_element}<description>About it.</description>{extra}</item>"


def parse_text(text: str, url: str = SYNTHETIC_FEED) -> Feed:
    return parse_feed(text.encode(), url)


# --- the three site feeds ----------------------------------------------------------------------------


def test_biologics_feed_entries():
    feed = site_feed("biologics")
    assert feed.url == FEEDS["biologics"]
    assert feed.title == "FDA Biologics RSS Feed"
    assert [e.link for e in feed.entries] == [
        CBER_SAFETY
        + "market-withdrawal-certain-lots-immune-globulin-intravenous-human-10-orrinbrook-biotherapeutics",
        CBER_CONSUMER + "consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes",
        EXOSOME_ALERT,
        CBER_SAFETY + "public-safety-notification-exosome-products",
    ]
    assert [e.title for e in feed.entries] == [
        "Market Withdrawal of Certain Lots of Immune Globulin Intravenous (Human) 10% Manufactured by "
        "Orrinbrook Biotherapeutics",
        "Consumer Alert on Regenerative Medicine Products Including Stem Cells and Exosomes",
        "Public Safety Alert Due to Marketing of Unapproved Stem Cell and Exosome Products",
        "Public Safety Notification on Exosome Products",
    ]
    assert [e.published_at for e in feed.entries] == [
        utc(2024, 8, 14, 17, 15),  # Wed, 14 Aug 2024 13:15:00 EDT
        utc(2020, 7, 22, 14, 45),  # Wed, 22 Jul 2020 10:45:00 EDT
        utc(2019, 12, 9, 22, 5),  # Mon, 09 Dec 2019 17:05:00 EST
        utc(2019, 12, 6, 20, 10),  # Fri, 06 Dec 2019 15:10:00 EST
    ]
    assert feed.entries[3].summary == (
        "There are currently no FDA-approved exosome products. Certain clinics across the country, including "
        "some that manufacture or market violative “stem cell” products, are now also offering exosome "
        "products to patients."
    )
    assert feed.entries[3].guid == CBER_SAFETY + "public-safety-notification-exosome-products"
    assert (feed.notes, feed.skipped) == ((), ())


def test_biologics_feed_http_tracking_and_fragment_link_is_canonical():
    raw = (
        "http://www.fda.gov/safety/medical-product-safety-information/"
        "public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products/"
        "?utm_source=govdelivery&amp;utm_medium=email#main"
    )
    assert raw.encode() in site_feed_bytes("biologics")
    entry = site_feed("biologics").entries[2]
    assert entry.link == (
        "https://www.fda.gov/safety/medical-product-safety-information/"
        "public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products"
    )
    assert entry.link == EXOSOME_ALERT
    medwatch = {e.link: e for e in site_feed("medwatch").entries}
    assert medwatch[EXOSOME_ALERT].published_at == entry.published_at  # one notice, seen in two feeds


def test_food_safety_recalls_feed_entries():
    feed = site_feed("food-safety-recalls")
    assert feed.title == "FDA Food Safety Recalls RSS Feed"
    assert [e.link for e in feed.entries] == [
        RECALLS
        + "hormel-foods-sales-llc-recalls-limited-number-plantersr-honey-roasted-peanuts-4-oz-and-plantersr",
        RECALLS + "palmer-candy-company-recalls-white-confectionary-products-because-possible-health-risk",
        RECALLS
        + "recall_supplier-recalls-impact-two-hy-vee-products-third-party-manufacturers-alert-retailer",
    ]
    assert feed.entries[0].title == (
        "Hormel Foods Sales, LLC Recalls a Limited Number of Planters® Honey Roasted Peanuts 4 Oz. and "
        "Planters® Deluxe Lightly Salted Mixed Nuts 8.75 Oz. Because of Possible Health Risk"
    )
    assert [e.published_at for e in feed.entries] == [
        utc(2024, 5, 3, 20, 56),
        utc(2024, 5, 5, 14, 9),
        utc(2024, 5, 6, 23, 24),
    ]
    assert feed.entries[1].summary == (
        "Palmer Candy Company, Sioux City, Iowa, is recalling its “White Coated Confectionary Items” because "
        "they have the potential to be contaminated with Salmonella."
    )


def test_food_safety_recalls_feed_is_the_real_slice_byte_for_byte():
    assert (
        site_feed_bytes("food-safety-recalls")
        == (NOTICES / "real" / "rss" / "food_safety_recalls_slice.xml").read_bytes()
    )


def test_medwatch_feed_entries():
    feed = site_feed("medwatch")
    assert feed.title == "FDA MedWatch Safety Alerts RSS Feed"
    assert [e.link for e in feed.entries] == [
        MEDWATCH + "vantmere-surgical-linear-stapler-reloads-recall-staples-may-not-form-completely",
        MEDWATCH + "methocarbamol-tablets-harrowgate-laboratories-recall-bottles-may-contain-different-drug",
        MEDWATCH
        + "tarnbeck-medical-tmv-300-volumetric-infusion-pumps-class-i-recall-software-fault-may-stop-infusion",
        MEDWATCH
        + "veritone-blood-glucose-test-strips-pellworth-diagnostics-recall-falsely-high-glucose-results",
        MEDWATCH + "sterile-drug-products-quillmoor-compounding-pharmacy-recall-lack-sterility-assurance",
        EXOSOME_ALERT,
    ]
    assert [e.published_at for e in feed.entries] == [
        utc(2024, 8, 27, 20, 20),
        utc(2024, 7, 30, 15, 2),
        None,  # "Tuesday-ish, sometime 2024"
        utc(2024, 3, 12, 19, 42),
        utc(2024, 1, 18, 19, 30),  # Thu, 18 Jan 2024 14:30:00 EST
        utc(2019, 12, 9, 22, 5),
    ]
    assert feed.entries[2].title == (
        "Tarnbeck Medical TMV-300 Volumetric Infusion Pumps: Class I Recall - Software Fault May Stop "
        "Infusion Without Alarm"
    )


def test_medwatch_summaries_are_plain_text_whatever_the_escaping():
    summaries = [e.summary for e in site_feed("medwatch").entries]
    assert summaries[0] == (  # CDATA holding <p>
        "Vantmere Surgical is recalling certain lots of 60 mm linear stapler reloads because staples may not "
        "form completely, which can lead to bleeding or leaks after surgery."
    )
    assert summaries[2] == (  # HTML escaped once: &lt;p&gt;
        "Tarnbeck Medical is recalling TMV-300 volumetric infusion pumps because a software fault can stop an "
        "infusion without an alarm. FDA has identified this as a Class I recall."
    )
    assert summaries[3] == (  # escaped once, with an escaped ampersand inside: &amp;amp;
        "Pellworth Diagnostics is recalling certain lots of Veritone Blood Glucose Test Strips that may give "
        "falsely high results & lead to insulin overdosing."
    )
    assert summaries[4] == (  # escaped twice: &amp;lt;p&amp;gt; and &amp;lt;em&amp;gt;
        "Quillmoor Compounding Pharmacy is recalling sterile drug products compounded between August 1, "
        "2023, and January 12, 2024, because their sterility cannot be assured."
    )
    assert summaries[5].startswith("FDA is informing the public, especially patients,")


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_no_summary_or_title_holds_markup_or_entities(name):
    for entry in site_feed(name).entries:
        for text in (entry.title, entry.summary):
            assert text and text == " ".join(text.split())
            for mark in TAG_MARKS:
                assert mark not in text, (entry.link, mark)


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_every_date_is_an_aware_utc_datetime(name):
    dates = [e.published_at for e in site_feed(name).entries if e.published_at is not None]
    assert dates
    for moment in dates:
        assert moment.tzinfo is UTC and moment.utcoffset().total_seconds() == 0
        assert utc(2019, 1, 1) < moment < utc(2025, 1, 1)  # the feeds' own years: never "now"


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_site_feeds_agree_with_expected_json(name):
    """Each entry is an expected notice that names this feed, with the title and the UTC date that
    expected.json gives it; and each notice that names this feed is in it."""
    entries = {e.link: e for e in site_feed(name).entries}
    carried = {url for url, notice in EXPECTED.items() if name in notice["feeds"]}
    assert set(entries) == carried
    for url, entry in entries.items():
        notice = EXPECTED[url]
        moment = entry.published_at
        assert (moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None) == notice["published_at"], url
        assert entry.title == notice["title"]


def test_the_unparseable_pubdate_gives_none_not_now():
    assert b"<pubDate>Tuesday-ish, sometime 2024</pubDate>" in site_feed_bytes("medwatch")
    (entry,) = [e for e in site_feed("medwatch").entries if e.link.startswith(MEDWATCH + "tarnbeck-")]
    assert entry.published_at is None


# --- broken feeds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("malformed.xml", "not well-formed XML"),
        ("html_error_page.html", r"not a feed: an HTML page \('Page Not Found \| FDA'\)"),
        ("access_denied.html", "block page instead of a feed: 'Access Denied'"),
        ("empty.xml", "^feed is empty$"),
        ("not_rss.json", "JSON"),
    ],
)
def test_broken_feeds_are_feed_errors_with_their_reason(name, reason):
    with pytest.raises(FeedError, match=reason) as caught:
        parse_feed(fixture("broken", name), FEEDS["medwatch"])
    assert isinstance(caught.value, SourceFailure)
    assert "\n" not in str(caught.value)


def test_windows_1252_bytes_declared_as_utf8_are_read_as_windows_1252():
    feed = parse_feed(fixture("broken", "wrong_encoding.xml"), FEEDS["medwatch"])
    assert [e.title for e in feed.entries] == [
        "Pellworth Diagnostics Recalls Veritone® Test Strips for “Falsely High” Results",
        "Rivanne Pâtisserie Recalls “Crème Légère” Desserts Because of Undeclared Milk",
    ]
    assert (
        feed.entries[0].summary
        == "Veritone® strips from the affected lots may read “falsely high”; see the company’s notice."
    )
    assert [e.link for e in feed.entries] == [
        MEDWATCH
        + "veritone-blood-glucose-test-strips-pellworth-diagnostics-recall-falsely-high-glucose-results",
        RECALLS + "rivanne-patisserie-recalls-creme-legere-desserts-because-undeclared-milk",
    ]
    assert len(feed.notes) == 1 and "windows-1252" in feed.notes[0] and "utf-8" in feed.notes[0]
    assert "\ufffd" not in "".join(e.title + e.summary for e in feed.entries)  # no replacement characters
    assert "Ã" not in "".join(e.title + e.summary for e in feed.entries)  # no mojibake


def test_latin1_bytes_without_a_declaration_are_read_as_latin1():
    feed = parse_feed(fixture("broken", "no_declaration_latin1.xml"), FEEDS["medwatch"])
    (entry,) = feed.entries
    assert entry.title == "Rivanne Pâtisserie Recalls Crème Légère® Desserts Because of Undeclared Milk"
    assert entry.summary == "Rivanne Pâtisserie is recalling its Crème Légère desserts (café size)."
    assert entry.published_at == utc(2024, 4, 9, 16, 0)
    assert len(feed.notes) == 1 and "encod" in feed.notes[0].lower() and "1252" in feed.notes[0]


def test_a_feed_cut_in_half_is_refused():
    data = site_feed_bytes("medwatch")
    with pytest.raises(FeedError, match="not well-formed XML"):
        parse_feed(data[: len(data) // 2], FEEDS["medwatch"])


# --- hostile feeds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "billion_laughs.xml",
        "quadratic_blowup.xml",
        "xxe_file.xml",
        "xxe_loopback.xml.tmpl",
        "parameter_entity.xml.tmpl",
    ],
)
def test_hostile_dtds_are_refused(name):
    data = fixture("hostile", name)
    assert b"{PORT}" not in data
    with pytest.raises(FeedError, match="DTD") as caught:
        parse_feed(data, FEEDS["medwatch"])
    assert "\n" not in str(caught.value)


def test_an_external_dtd_is_dropped_unread_and_the_feed_is_read():
    data = fixture("hostile", "external_dtd.xml.tmpl")
    assert b'<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">' in data
    feed = parse_feed(data, FEEDS["medwatch"])
    assert [e.link for e in feed.entries] == [
        MEDWATCH
        + "veritone-blood-glucose-test-strips-pellworth-diagnostics-recall-falsely-high-glucose-results",
        MEDWATCH + "methocarbamol-tablets-harrowgate-laboratories-recall-bottles-may-contain-different-drug",
    ]
    assert [e.published_at for e in feed.entries] == [utc(2024, 3, 12, 19, 42), utc(2024, 7, 30, 15, 2)]


def test_the_xxe_file_title_never_holds_the_file():
    try:
        feed = parse_feed(fixture("hostile", "xxe_file.xml"), FEEDS["medwatch"])
    except FeedError as exc:
        assert "root:" not in str(exc)
        return
    assert not any("root:" in (e.title or "") + (e.summary or "") for e in feed.entries)


# --- written edge cases: formats and encodings -----------------------------------------------------------


def test_atom_entries_with_updated_only_take_their_date_from_updated():
    feed = parse_text(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Atom</title><id>urn:feed</id><updated>2024-01-02T03:04:05Z</updated>"
        '<entry><title>First</title><link href="https://www.fda.gov/safety/a"/><id>urn:a</id>'
        '<updated>2024-05-06T07:08:09-04:00</updated><summary type="html">&lt;p&gt;Sum &lt;b&gt;one&lt;/b&gt;&lt;/p&gt;</summary></entry>'
        '<entry><title type="html">Second &amp;amp; last</title><link rel="alternate" href="/safety/b/"/>'
        "<id>urn:b</id><published>2023-02-03T04:05:06Z</published><updated>2024-02-03T04:05:06Z</updated></entry>"
        "</feed>"
    )
    assert feed.title == "Atom"
    first, second = feed.entries
    assert (first.link, first.title, first.summary, first.guid) == (
        "https://www.fda.gov/safety/a",
        "First",
        "Sum one",
        "urn:a",
    )
    assert first.published_at == utc(2024, 5, 6, 11, 8, 9)
    assert second.link == "https://www.fda.gov/safety/b"  # relative to the feed URL, canonical
    assert second.published_at == utc(2023, 2, 3, 4, 5, 6)  # published wins over updated
    assert second.summary is None


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_read(codec):
    text = rss(item(title="Café “Crème” ®"), prolog=f'<?xml version="1.0" encoding="{codec}"?>')
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(codec, b"")
    data = bom + text.encode(codec)
    assert data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or data[:4] == codecs.BOM_UTF32_LE
    feed = parse_feed(data, SYNTHETIC_FEED)
    assert [(e.title, e.link) for e in feed.entries] == [("Café “Crème” ®", MEDWATCH + "an-alert")]


def test_utf16_with_an_internal_subset_is_still_refused():
    text = rss(item(), prolog='<?xml version="1.0" encoding="utf-16"?><!DOCTYPE rss [<!ENTITY e "x">]>')
    with pytest.raises(FeedError, match="DTD"):
        parse_feed(text.encode("utf-16"), SYNTHETIC_FEED)


def test_utf16_without_a_byte_order_mark_is_refused():
    text = rss(item(), prolog='<?xml version="1.0" encoding="utf-16"?>')
    with pytest.raises(FeedError, match="NUL bytes"):
        parse_feed(text.encode("utf-16-le"), SYNTHETIC_FEED)


def test_a_utf8_byte_order_mark_is_fine():
    feed = parse_feed(codecs.BOM_UTF8 + rss(item(title="Crème")).encode(), SYNTHETIC_FEED)
    assert feed.entries[0].title == "Crème"


@pytest.mark.parametrize(
    "prolog",
    [
        '<?xml version="1.0" encoding="utf-8"?><!DOCTYPE rss [<!ENTITY e "x">]>',
        '<?xml version="1.0" encoding="utf-8"?>\n<!-- a comment -->\n<!DOCTYPE rss [<!ENTITY e "x">]>',
        '<?xml version="1.0"?><!-- c --><?xml-stylesheet type="text/xsl" href="x.xsl"?>\n'
        '<!DOCTYPE rss [<!ENTITY e "x">]>',
        '<?xml version="1.0"?><?pi a > b?><!-- a > b --><!doctype rss [<!ENTITY e "x">]>',
        '<!-- no declaration --><!DOCTYPE rss SYSTEM "x.dtd" [<!ENTITY e "x">]>',
        '<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//x//EN" "x.dtd" [<!ENTITY % p SYSTEM "http://127.0.0.1:9/">]>',
    ],
)
def test_an_internal_subset_is_refused_wherever_it_hides_in_the_prolog(prolog):
    with pytest.raises(FeedError, match="DTD|document type declaration"):
        parse_text(rss(item(title="&e;"), prolog=prolog))


@pytest.mark.parametrize(
    "prolog",
    [
        '<?xml version="1.0"?><!DOCTYPE rss SYSTEM "http://127.0.0.1:9/rss-0.91.dtd">',
        '<?xml version="1.0"?><!-- c --><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        '"http://127.0.0.1:9/rss-0.91.dtd">',
        '<?xml version="1.0"?><!DOCTYPE rss>',
    ],
)
def test_a_bare_doctype_is_removed_and_the_feed_read(prolog):
    feed = parse_text(rss(item(), prolog=prolog))
    assert [e.link for e in feed.entries] == [MEDWATCH + "an-alert"]


def test_many_comments_in_the_prolog_are_answered_quickly():
    data = rss(item(), prolog='<?xml version="1.0" encoding="utf-8"?>' + "<!--a-->" * 40)
    with cpu_time_limit(5.0):
        assert [e.link for e in parse_text(data).entries] == [MEDWATCH + "an-alert"]


def test_a_few_comments_in_the_prolog_are_fine():
    data = rss(item(), prolog='<?xml version="1.0" encoding="utf-8"?>' + "<!--a-->" * 8)
    assert [e.link for e in parse_text(data).entries] == [MEDWATCH + "an-alert"]


# --- written edge cases: size, entries and links -----------------------------------------------------------


def test_a_feed_over_8_mib_is_refused_before_parsing():
    assert MAX_FEED_BYTES == 8 * 1024 * 1024
    data = rss(item()).encode()
    data = data.replace(b"<channel>", b"<channel><!--" + b"x" * (MAX_FEED_BYTES - len(data)) + b"-->")
    assert len(data) == MAX_FEED_BYTES + 7
    with pytest.raises(FeedError, match=f"over the {MAX_FEED_BYTES}-byte limit"):
        parse_feed(data, SYNTHETIC_FEED)


def test_an_entry_without_a_link_is_skipped_and_reported():
    feed = parse_text(rss(item(title="Linked") + item(title="No link", link=None) + item(title="Last")))
    assert [e.title for e in feed.entries] == ["Linked", "Last"]
    assert feed.skipped == ("entry 2: no link",)


def test_a_permalink_guid_stands_in_for_a_missing_link():
    feed = parse_text(
        rss(item(link=None, extra=f'<guid isPermaLink="true">{MEDWATCH}from-guid/?utm_medium=email</guid>'))
    )
    assert [e.link for e in feed.entries] == [MEDWATCH + "from-guid"]


def test_a_guid_that_is_not_a_permalink_is_not_a_link():
    feed = parse_text(rss(item(link=None, extra='<guid isPermaLink="false">12345</guid>')))
    assert feed.entries == ()
    assert feed.skipped == ("entry 1: no link",)


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        " JavaScript:alert(document.cookie)",
        "data:text/html,&lt;script&gt;x&lt;/script&gt;",
        "mailto:someone@fda.hhs.gov",
        "ftp://www.fda.gov/file",
        "http://[::1/broken",
    ],
)
def test_an_entry_whose_link_is_not_a_web_url_is_skipped(link):
    feed = parse_text(rss(item(title="Bad", link=link) + item(title="Good")))
    assert [e.title for e in feed.entries] == ["Good"]
    (reason,) = feed.skipped
    assert reason.startswith("entry 1: ") and "\n" not in reason


def test_relative_links_resolve_against_the_feed_url():
    feed = parse_text(rss(item(link="/safety/x/") + item(link="  sibling  ")))
    assert [e.link for e in feed.entries] == [
        "https://www.fda.gov/safety/x",
        "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/synthetic/sibling",
    ]


def test_more_than_2000_entries_keeps_the_first_2000_and_says_so():
    assert MAX_ENTRIES == 2000
    items = "".join(item(title=f"Alert {n}", link=f"{MEDWATCH}alert-{n}") for n in range(2003))
    feed = parse_text(rss(items))
    assert len(feed.entries) == 2000
    assert feed.entries[0].link == MEDWATCH + "alert-0"
    assert feed.entries[-1].link == MEDWATCH + "alert-1999"
    assert feed.skipped == ("entries after the first 2000 left out",)


def test_exactly_2000_entries_are_all_kept():
    items = "".join(item(title=f"Alert {n}", link=f"{MEDWATCH}alert-{n}") for n in range(2000))
    feed = parse_text(rss(items))
    assert len(feed.entries) == 2000 and feed.skipped == ()


def test_an_empty_channel_is_a_feed_without_entries():
    feed = parse_text(rss())
    assert (feed.title, feed.entries, feed.skipped) == ("Synthetic", (), ())


# --- written edge cases: dates and text --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pub_date", "expected"),
    [
        ("Mon, 09 Dec 2019 17:05:00 EST", utc(2019, 12, 9, 22, 5)),
        ("Wed, 14 Aug 2024 13:15:00 EDT", utc(2024, 8, 14, 17, 15)),
        ("Tue, 12 Mar 2024 15:42:00 GMT", utc(2024, 3, 12, 15, 42)),
        ("Tue, 12 Mar 2024 15:42:00 -0400", utc(2024, 3, 12, 19, 42)),
        ("Tue, 12 Mar 2024 15:42:00 +0530", utc(2024, 3, 12, 10, 12)),
        ("Sun, 31 Dec 2023 22:30:00 EST", utc(2024, 1, 1, 3, 30)),  # into the next year in UTC
        ("Tuesday-ish, sometime 2024", None),
        ("", None),
        ("Mon, 09 Dec 1970 17:05:00 EST", None),  # an absurd year
    ],
)
def test_pubdate_shapes(pub_date, expected):
    feed = parse_text(rss(item(extra=f"<pubDate>{pub_date}</pubDate>")))
    assert feed.entries[0].published_at == expected


def test_no_date_at_all_gives_none():
    assert parse_text(rss(item())).entries[0].published_at is None


@pytest.mark.parametrize(
    ("pub_date", "expected"),
    [
        ("Fri, 03 May 2024 16:56:00 EDT", utc(2024, 5, 3, 20, 56)),
        ("Fri, 03 May 2024 16:56:00 edt", utc(2024, 5, 3, 20, 56)),
        ("Fri, 03 May 2024 16:56:00 CDT", utc(2024, 5, 3, 21, 56)),
        ("Fri, 06 Dec 2024 16:56:00 CST", utc(2024, 12, 6, 22, 56)),
        ("Fri, 03 May 2024 16:56:00 MDT", utc(2024, 5, 3, 22, 56)),
        ("Fri, 06 Dec 2024 16:56:00 MST", utc(2024, 12, 6, 23, 56)),
        ("Fri, 03 May 2024 16:56:00 PDT", utc(2024, 5, 3, 23, 56)),
        ("Fri, 06 Dec 2024 16:56:00 PST", utc(2024, 12, 7, 0, 56)),
        ("Fri, 03 May 2024 16:56:00 AKDT", utc(2024, 5, 4, 0, 56)),
        ("Fri, 06 Dec 2024 16:56:00 AKST", utc(2024, 12, 7, 1, 56)),
        ("Fri, 06 Dec 2024 16:56:00 HST", utc(2024, 12, 7, 2, 56)),
        ("Fri, 06 Dec 2024 16:56:00 AST", utc(2024, 12, 6, 20, 56)),  # Atlantic: Puerto Rico
        ("Fri, 06 Dec 2024 16:56:00 CHST", utc(2024, 12, 6, 6, 56)),  # Guam, UTC+10
        ("Fri, 06 Dec 2024 16:56:00 SST", utc(2024, 12, 7, 3, 56)),  # Samoa, UTC-11
        ("Fri, 03 May 2024 16:56:00 ET", utc(2024, 5, 3, 20, 56)),  # Eastern clock: daylight time in May
        ("Fri, 06 Dec 2024 16:56:00 ET", utc(2024, 12, 6, 21, 56)),  # and standard time in December
        ("Fri, 03 May 2024 16:56:00 PT", utc(2024, 5, 3, 23, 56)),
        ("Fri, 03 May 2024 16:56:00 UT", utc(2024, 5, 3, 16, 56)),
        ("Fri, 03 May 2024 16:56:00 Z", utc(2024, 5, 3, 16, 56)),
        ("Fri, 03 May 2024 16:56:00 -0000", utc(2024, 5, 3, 16, 56)),
        ("3 May 2024 16:56 EDT", utc(2024, 5, 3, 20, 56)),  # no weekday, no seconds
        ("Fri, 03 May 24 16:56:00 EDT", utc(2024, 5, 3, 20, 56)),  # a two-digit year
        ("Fri,  03  May 2024\n 16:56:00 EDT", utc(2024, 5, 3, 20, 56)),
        ("Fri, 03 May 2024 16:56:00 XYZ", None),  # a zone nobody knows: not UTC
        ("Fri, 03 May 2024 16:56:00 BST", None),  # British summer or Bangladesh: not a guess
        ("Fri, 03 May 2024 16:56:00 A", None),  # RFC 2822: military zones carry no information
        ("Fri, 03 May 2024 16:56:00", None),  # no zone at all
        ("Fri, 31 Feb 2024 16:56:00 EDT", None),
        ("Fri, 03 May 2024 25:56:00 EDT", None),
        ("Mon, 01 Jan 0001 00:30:00 +0100", None),  # before the year 1 in UTC
        ("Fri, 03 May 2024 16:56:00 +9999", None),
    ],
)
def test_zone_names_give_the_right_utc_time(pub_date, expected):
    feed = parse_text(rss(item(extra=f"<pubDate>{pub_date}</pubDate>")))
    assert feed.entries[0].published_at == expected


DRUPAL_TEXT = "Fri, 05/03/2019 - 15:21"


@pytest.mark.parametrize(
    ("pub_date", "expected"),
    [
        (f'<time datetime="2019-05-03T19:21:28Z">{DRUPAL_TEXT}</time>', utc(2019, 5, 3, 19, 21, 28)),
        (f'<time datetime="2019-05-03T15:21:28-04:00">{DRUPAL_TEXT}</time>', utc(2019, 5, 3, 19, 21, 28)),
        (f'<time datetime="yesterday">{DRUPAL_TEXT}</time>', utc(2019, 5, 3, 19, 21)),  # the text, EDT
        (f'<time datetime="2019-05-03T19:21:28">{DRUPAL_TEXT}</time>', utc(2019, 5, 3, 19, 21)),  # no zone
        (f"<time>{DRUPAL_TEXT}</time>", utc(2019, 5, 3, 19, 21)),
        (DRUPAL_TEXT, utc(2019, 5, 3, 19, 21)),
        ("Mon, 12/09/2019 - 17:05", utc(2019, 12, 9, 22, 5)),  # EST in December
        ('<time datetime="0001-01-01T00:30:00+01:00">not a date</time>', None),
        ('<time datetime="">not a date</time>', None),
    ],
)
def test_drupal_time_elements_give_their_datetime_else_their_eastern_text(pub_date, expected):
    feed = parse_text(rss(item(extra=f"<pubDate>{pub_date}</pubDate>")))
    assert feed.entries[0].published_at == expected


def test_iso_dates_in_a_pubdate_are_read_too():
    feed = parse_text(rss(item(extra="<pubDate>2024-05-06T07:08:09-04:00</pubDate>")))
    assert feed.entries[0].published_at == utc(2024, 5, 6, 11, 8, 9)


def test_other_date_shapes_are_left_to_feedparser():
    feed = parse_text(rss(item(extra="<pubDate>2024-05-06</pubDate>")))  # a W3C date: midnight UTC
    assert feed.entries[0].published_at == utc(2024, 5, 6)


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("<![CDATA[<p>One <strong>two</strong></p><p>three</p>]]>", "One two three"),
        ("&lt;p&gt;Escaped &lt;a href='https://www.fda.gov/x'&gt;link&lt;/a&gt;.&lt;/p&gt;", "Escaped link."),
        ("&amp;lt;p&amp;gt;Twice&amp;lt;br/&amp;gt;escaped&amp;lt;/p&amp;gt;", "Twice escaped"),
        ("&lt;P&gt;UPPER&lt;/P&gt;", "UPPER"),
        ("Glucose &lt; 70 mg/dL &amp; more", "Glucose < 70 mg/dL & more"),  # text, not markup
        ("AT&amp;T", "AT&T"),
        ("  spaced\n\n  out\t ", "spaced out"),
        ("<![CDATA[<p>With <!-- a comment --> and <script>evil()</script>text</p>]]>", "With and text"),
    ],
)
def test_summaries_are_plain_text(description, expected):
    feed = parse_text(
        rss(f"<item><title>T</title><link>{MEDWATCH}a</link><description>{description}</description></item>")
    )
    assert feed.entries[0].summary == expected


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Planters&lt;sup&gt;®&lt;/sup&gt; nuts", "Planters® nuts"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Hello", "Hello"),
        ("&lt;u&gt;Underlined&lt;/u&gt; notice", "Underlined notice"),
        ("Planters&lt;sup&gt;®&lt;/sup&gt; nuts &lt;p&gt;with a p&lt;/p&gt;", "Planters® nuts with a p"),
    ],
)
def test_summaries_lose_every_tag_not_only_the_common_ones(description, expected):
    feed = parse_text(
        rss(f"<item><title>T</title><link>{MEDWATCH}a</link><description>{description}</description></item>")
    )
    assert feed.entries[0].summary == expected


def test_titles_are_plain_text_too():
    feed = parse_text(rss(item(title="&lt;b&gt;Recall&lt;/b&gt; of   X &amp;amp; Y")))
    assert feed.entries[0].title == "Recall of X & Y"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("New Hoque &amp;amp; Sons Inc.", "New Hoque & Sons Inc."),  # FDA's food-safety feed
        ("Tomato &amp;amp; Basil&lt;br&gt;Garlic", "Tomato & Basil Garlic"),
        ("Planters&amp;reg; Honey", "Planters® Honey"),
        ("Anywhere Pack&amp;#8482; and Pack&amp;#x2122;", "Anywhere Pack™ and Pack™"),
        ("Triple &amp;amp;amp; escaped", "Triple &amp; escaped"),  # decoded once more, not twice
        ("AT&amp;T &amp;notice &amp;copy 2024", "AT&T &notice &copy 2024"),  # no semicolon: text
        ("Barnes &amp; Noble", "Barnes & Noble"),
    ],
)
def test_double_escaped_references_are_read_once_in_titles_and_summaries(text, expected):
    feed = parse_text(
        rss(f"<item><title>{text}</title><link>{MEDWATCH}a</link><description>{text}</description></item>")
    )
    assert (feed.entries[0].title, feed.entries[0].summary) == (expected, expected)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Planters® Honey Roasted Peanuts", "Planters® Honey Roasted Peanuts"),
        ("Ben’s Original™ Rice", "Ben’s Original™ Rice"),
        ("CELSIUS® ASTRO VIBE ™ Energy Drink", "CELSIUS® ASTRO VIBE ™ Energy Drink"),
        ("Planters&lt;sup&gt;®&lt;/sup&gt; Honey", "Planters® Honey"),
        ("Planters&lt;sup&gt;&amp;reg;&lt;/sup&gt; Honey", "Planters® Honey"),
        ("Good &amp;amp; Gather&amp;trade; Bowls", "Good & Gather™ Bowls"),
    ],
)
def test_titles_keep_trademark_signs_and_the_words_around_them(title, expected):
    assert parse_text(rss(item(title=title))).entries[0].title == expected


def test_control_characters_in_titles_are_removed():
    feed = parse_text(rss(item(title="Re&#x202e;call&#x2066; of X")))
    assert feed.entries[0].title == "Recall of X"


def test_an_over_long_title_skips_the_entry_not_the_feed():
    feed = parse_text(rss(item(title="T" * 3000) + item(title="Fine")))
    assert [e.title for e in feed.entries] == ["Fine"]
    assert len(feed.skipped) == 1 and "longer than 2000" in feed.skipped[0]


# --- input type and error messages -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [rss(item()), None, 42, [b"<rss/>"]])
def test_input_must_be_bytes(value):
    with pytest.raises(TypeError):
        parse_feed(value, SYNTHETIC_FEED)


def test_bytearray_and_memoryview_are_bytes_too():
    data = rss(item()).encode()
    assert parse_feed(bytearray(data), SYNTHETIC_FEED) == parse_feed(data, SYNTHETIC_FEED)
    assert parse_feed(memoryview(data), SYNTHETIC_FEED) == parse_feed(data, SYNTHETIC_FEED)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"   \n\t  ", "^feed is empty$"),
        (b"<html><head><title>Access\n  Denied</title></head><body>x</body></html>", "block page"),
        (b"<html><head><title>Some\nerror\r\npage</title></head><body>x</body></html>", "'Some error page'"),
        (b"<!DOCTYPE html><html><body>no title</body></html>", "^not a feed: an HTML page$"),
        (b"<!DOCTYPE html><body>no html element</body>", "^not an RSS or Atom feed: the document is <body>$"),
        (b"[1, 2]", "JSON"),
        (
            b"<?xml version='1.0'?><sitemap><url/></sitemap>",
            "not an RSS or Atom feed: the document is <sitemap>",
        ),
        (b"<?xml version='1.0'?><!-- only a comment -->", "no XML element"),
        (b"plain text, not XML", "no XML element"),
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>a\n<b></title></channel></rss>',
            "not well-formed",
        ),
        (b"<rss version='2.0'><channel><item><title>x</item></channel></rss>", "not well-formed"),
        (b"\x00\x00\x00<rss/>", "NUL bytes"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8<\x00", "not valid UTF-16-LE"),
    ],
)
def test_error_messages_are_one_line(data, reason):
    with pytest.raises(FeedError, match=reason) as caught:
        parse_feed(data, SYNTHETIC_FEED)
    message = str(caught.value)
    assert message and "\n" not in message and "\r" not in message and len(message) < 400


# --- notice types ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (EXOSOME_ALERT, "medwatch_alert"),
        (CBER_SAFETY + "public-safety-notification-exosome-products", "cber_safety"),
        (
            CBER_CONSUMER + "consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes",
            "cber_consumer",
        ),
        (
            RECALLS
            + "palmer-candy-company-recalls-white-confectionary-products-because-possible-health-risk",
            "recall",
        ),
        (
            "https://www.fda.gov/news-events/press-announcements/fda-warns-about-stem-cell-therapies",
            "press_release",
        ),
        ("https://www.fda.gov/drugs/drug-safety-and-availability/some-communication", "drug_safety"),
        ("https://www.fda.gov/medical-devices/safety-communications/some-communication", "device_safety"),
        (
            "https://www.fda.gov/vaccines-blood-biologics/safety-availability-biologics",
            "other",
        ),  # the index page
        (
            "https://www.fda.gov/safety/medical-product-safety-information",
            "other",
        ),  # no trailing slash: the section
        ("https://www.fda.gov/", "other"),
        ("https://www.fda.gov/food/recalls-outbreaks-emergencies", "other"),
        ("https://www.cdc.gov/safety/medical-product-safety-information/x", "external"),
        ("https://www.fda.gov.example/safety/medical-product-safety-information/x", "external"),
        (
            "https://public4.pagefreezer.com/browse/FDA/safety/recalls-market-withdrawals-safety-alerts/x",
            "external",
        ),
    ],
)
def test_notice_type(url, kind):
    assert notice_type(url) == kind


def test_every_expected_notice_has_the_type_of_its_section():
    kinds = {url: notice_type(url) for url in EXPECTED}
    assert sorted(kinds.values()) == sorted(
        ["medwatch_alert"] * 6 + ["recall"] * 3 + ["cber_consumer"] + ["cber_safety"] * 3
    )


# --- notice records from feed entries and pages ---------------------------------------------------------------


def feed_entries(url: str) -> list[tuple[str, FeedEntry]]:
    return [(FEEDS[name], e) for name in sorted(FEEDS) for e in site_feed(name).entries if e.link == url]


FETCHED_AT = utc(2024, 11, 20, 12, 0)


def test_a_notice_seen_only_in_feeds_takes_title_summary_and_tags_from_them():
    entries = feed_entries(EXOSOME_ALERT)
    assert len(entries) == 2  # biologics and medwatch
    record = notice_record(EXOSOME_ALERT, entries, [], None, page_stored=False, fetched_at=FETCHED_AT)
    assert record.url == EXOSOME_ALERT
    assert record.title == "Public Safety Alert Due to Marketing of Unapproved Stem Cell and Exosome Products"
    assert record.summary.startswith("FDA is informing the public")
    assert record.published_at == utc(2019, 12, 9, 22, 5)
    assert record.notice_type == "medwatch_alert"
    assert record.feeds == sorted([FEEDS["biologics"], FEEDS["medwatch"]])
    assert "exosome" in record.tags and "exosome" in record.tag_phrases
    assert record.body_text is None and record.content_hash is None and record.page_fetched_at is None


def test_a_notice_whose_page_is_stored_but_not_fetched_states_no_title_or_tags():
    record = notice_record(
        EXOSOME_ALERT, feed_entries(EXOSOME_ALERT), [], None, page_stored=True, fetched_at=FETCHED_AT
    )
    assert record.title is None and record.tags is None and record.tag_phrases is None
    assert record.published_at == utc(2019, 12, 9, 22, 5)


def test_a_fetched_page_is_the_authority_for_title_text_and_sections():
    page = parse_alert_page(
        (SITE / (EXOSOME_ALERT.removeprefix("https://www.fda.gov/") + ".html")).read_bytes(), EXOSOME_ALERT
    )
    record = notice_record(
        EXOSOME_ALERT, feed_entries(EXOSOME_ALERT), [], page, page_stored=True, fetched_at=FETCHED_AT
    )
    assert record.title == page.title
    assert (record.posted_date, record.body_text, record.content_hash) == (
        page.posted_date,
        page.body_text,
        page.content_hash,
    )
    assert (record.audience, record.issue, record.background, record.recommendation) == (
        page.audience,
        page.issue,
        page.background,
        page.recommendation,
    )
    assert record.page_fetched_at == FETCHED_AT
    assert "exosome" in record.tags


def test_a_notice_reached_only_from_an_index_page_takes_the_link_text():
    url = CBER_SAFETY + "important-patient-and-consumer-information-about-regenerative-medicine-therapies"
    index = "https://www.fda.gov/vaccines-blood-biologics/safety-availability-biologics"
    text = "Important Patient and Consumer Information About Regenerative Medicine Therapies"
    record = notice_record(url, [], [(index, text)], None, page_stored=False, fetched_at=FETCHED_AT)
    assert (record.title, record.published_at, record.feeds, record.notice_type) == (
        text,
        None,
        [index],
        "cber_safety",
    )


# --- feed URLs keep their scheme -----------------------------------------------------------------------

PLAIN_HTTP_FEED = "http://feeds.example.org/fda/recalls.xml"
FDA_FEED = "https://www.fda.gov/about-fda/contact-fda/stay-informed/rss-feeds/recalls/rss.xml"


def test_a_feed_keeps_its_own_url_while_fda_entry_links_become_https():
    feed = parse_feed(rss(item(link="http://www.fda.gov/safety/x/")).encode(), PLAIN_HTTP_FEED)
    assert feed.url == PLAIN_HTTP_FEED
    assert feed.entries[0].link == "https://www.fda.gov/safety/x"  # the notice's key, for dedup


def test_the_configuration_keeps_the_scheme_of_feed_urls(tmp_path):
    path = tmp_path / "exowatch.toml"
    path.write_text(f'[sources.fda_notices]\nfeeds = ["{PLAIN_HTTP_FEED}", "{FDA_FEED}"]\n', encoding="utf-8")
    config = load_config(path, env={})
    assert config.sources.fda_notices.feeds == (PLAIN_HTTP_FEED, FDA_FEED)
    assert crawl_plan("fda_notices", config, full=False).spider_kwargs["feeds"] == (PLAIN_HTTP_FEED, FDA_FEED)


def test_the_spider_fetches_a_plain_http_feed_over_http():
    spider = FdaNoticesSpider(feeds=[PLAIN_HTTP_FEED, FDA_FEED])
    assert spider.feeds == (PLAIN_HTTP_FEED, FDA_FEED)
