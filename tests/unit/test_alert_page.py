"""The alert-page extractor and the index-page link lister on the saved notice pages
(tests/fixtures/fda/notices/site/...) and on small pages written here for the edge cases.

Expected values come from tests/fixtures/fda/notices/expected.json and the real page excerpts
(tests/fixtures/fda/notices/real/alerts/), never from the extractor itself.
"""

import hashlib
import re
from datetime import date
from pathlib import Path

import pytest

from crawler.errors import SourceFailure
from crawler.extract.alert_page import AlertPage, alert_links, parse_alert_page
from crawler.relevance import tag_text
from tests.helpers import cpu_time_limit
from tests.notices_site import INDEX, NOTICES, SITE, expected_notices

EXPECTED = expected_notices()
SECTIONS = ("audience", "issue", "background", "recommendation")
MEDWATCH = "https://www.fda.gov/safety/medical-product-safety-information/"
CBER_SAFETY = "https://www.fda.gov/vaccines-blood-biologics/safety-availability-biologics/"
CBER_CONSUMER = "https://www.fda.gov/vaccines-blood-biologics/consumers-biologics/"
EXOSOME_ALERT = MEDWATCH + "public-safety-alert-due-marketing-unapproved-stem-cell-and-exosome-products"
EXOSOME_NOTIFICATION = CBER_SAFETY + "public-safety-notification-exosome-products"
CONSUMER_ALERT = (
    CBER_CONSUMER + "consumer-alert-regenerative-medicine-products-including-stem-cells-and-exosomes"
)
REGENERATIVE_INFO = (
    CBER_SAFETY + "important-patient-and-consumer-information-about-regenerative-medicine-therapies"
)
REAL_EXCERPTS = {
    EXOSOME_ALERT: "medwatch_public_safety_alert_unapproved_stem_cell_exosome_2019-12-09__pages_excerpt.txt",
    EXOSOME_NOTIFICATION: "fda_public_safety_notification_exosome_products_2019-12-06__pages_excerpt.txt",
    CONSUMER_ALERT: "consumer_alert_regenerative_medicine_stem_cells_exosomes_2020-07-22__pages_excerpt.txt",
}
FOOD_RECALLS = sorted(url for url in EXPECTED if "/recalls-market-withdrawals-safety-alerts/" in url)
SYNTHETIC_URL = MEDWATCH + "synthetic-alert"
INDEX_PREFIXES = (
    "/vaccines-blood-biologics/safety-availability-biologics/",
    "/vaccines-blood-biologics/consumers-biologics/",
)


def page_path(url: str) -> Path:
    return SITE / (url.removeprefix("https://www.fda.gov/") + ".html")


def page_bytes(url: str) -> bytes:
    return page_path(url).read_bytes()


def parse_saved(url: str) -> AlertPage:
    return parse_alert_page(page_bytes(url), url)


def alert_page(main: str, title: str = "X") -> bytes:
    """A minimal page in fda.gov's shape around the HTML of its div[role=main]."""
    return (
        f"<html><head><title>{title} | FDA</title></head><body>"
        f'<h1 class="content-title">{title}</h1><div role="main">{main}</div>'
        "<footer>f</footer></body></html>"
    ).encode()


def parse_main(main: str, title: str = "X") -> AlertPage:
    return parse_alert_page(alert_page(main, title), SYNTHETIC_URL)


# --- the saved pages: every field of expected.json ---------------------------------------------------


def test_every_expected_page_is_saved_and_every_saved_alert_page_is_expected():
    saved = {
        "https://www.fda.gov/" + p.relative_to(SITE).as_posix().removesuffix(".html")
        for p in SITE.rglob("*.html")
    }
    assert saved - set(EXPECTED) == {INDEX}  # the index page is the only page that is not an alert
    assert len(EXPECTED) == 13


@pytest.mark.parametrize("url", sorted(EXPECTED))
def test_every_field_of_every_saved_alert_page(url):
    expected = EXPECTED[url]
    page = parse_saved(url)
    assert page.url == expected["url"] == url
    assert page.title == expected["title"]
    assert page.posted_date == date.fromisoformat(expected["posted_date"])
    for section in SECTIONS:
        prefix = expected[section]
        value = getattr(page, section)
        if prefix is None:
            assert value is None, section
        else:
            assert len(prefix) <= 60
            assert value is not None and value.startswith(prefix), (section, value)
    assert page.body_text
    assert re.fullmatch(r"[0-9a-f]{64}", page.content_hash)


@pytest.mark.parametrize("url", sorted(EXPECTED))
def test_content_hash_is_the_sha256_of_title_and_body(url):
    page = parse_saved(url)
    assert page.content_hash == hashlib.sha256(f"{page.title}\n\n{page.body_text}".encode()).hexdigest()


@pytest.mark.parametrize("url", sorted(EXPECTED))
def test_the_page_url_is_canonicalized_whatever_its_spelling(url):
    spelled = url.replace("https://www.fda.gov/", "http://fda.gov/") + "/?utm_source=govdelivery#main"
    assert parse_alert_page(page_bytes(url), spelled).url == url


@pytest.mark.parametrize("url", sorted(EXPECTED))
def test_body_text_is_paragraphs_of_single_lines_without_chrome(url):
    body = parse_saved(url).body_text
    paragraphs = body.split("\n\n")
    assert all(p and p == " ".join(p.split()) for p in paragraphs)
    for chrome in (
        "An official website",
        "Skip to main content",
        "Content current as of",
        "10903 New Hampshire",
    ):
        assert chrome not in body
    assert "window.dataLayer" not in body and "drupal" not in body.lower()


def test_sections_stop_at_the_reporting_paragraph_and_the_related_notice_line():
    page = parse_saved(EXOSOME_ALERT)
    assert page.recommendation.endswith(
        "and should report adverse events they see in patients who received such products."
    )
    assert "encouraged to report" not in page.recommendation
    assert "12/06/2019" not in page.recommendation
    assert page.background.endswith("as evidenced by these recent reports of adverse events.")
    assert "\nAsk if the FDA has reviewed the treatment.\n" in page.recommendation  # the list items


# --- the real alerts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", sorted(REAL_EXCERPTS))
def test_real_alerts_start_with_the_real_excerpt_text(url):
    """After the title line, the excerpt's words (its last, cut word aside) open the body text."""
    page = parse_saved(url)
    assert EXPECTED[url]["real"] is True
    lines = (NOTICES / "real" / "alerts" / REAL_EXCERPTS[url]).read_text("utf-8").splitlines()
    title_line = max(i for i, line in enumerate(lines) if line.strip() == page.title)
    words = " ".join(re.sub(r"^- ", "", line.strip()) for line in lines[title_line + 1 :]).split()[:-1]
    assert len(words) > 200
    assert " ".join(page.body_text.split()).startswith(" ".join(words))


def test_real_alerts_open_with_their_real_first_words():
    assert parse_saved(EXOSOME_ALERT).body_text.startswith(
        "[Posted 12/09/2019]\n\nAUDIENCE: Health Professional, Patient, Consumer, Risk Manager\n\n"
        "ISSUE: FDA is informing the public, especially patients, health care practitioners, and clinics,"
    )
    assert parse_saved(EXOSOME_NOTIFICATION).body_text.startswith(
        "December 6, 2019\n\nThe Food and Drug Administration (FDA) is informing the public,"
    )
    assert parse_saved(CONSUMER_ALERT).body_text.startswith(
        "Doctor talking to patient\n\nDate: July 22, 2020\n\nIf you were hurt or had a bad side effect"
    )


def test_only_the_real_alerts_are_marked_real_in_expected_json():
    assert sorted(url for url, notice in EXPECTED.items() if notice["real"]) == sorted(REAL_EXCERPTS)


# --- relevance -------------------------------------------------------------------------------------


def exosome_tagged(url: str) -> bool:
    page = parse_saved(url)
    return "exosome" in {tag.tag for tag in tag_text(f"{page.title}\n\n{page.body_text}")}


@pytest.mark.parametrize("url", sorted(EXPECTED))
def test_exosome_tag_is_what_expected_json_says(url):
    assert exosome_tagged(url) is EXPECTED[url]["exosome"]


def test_the_four_exosome_pages_are_tagged_and_the_three_food_recalls_are_not():
    exosome = sorted(url for url in EXPECTED if exosome_tagged(url))
    assert exosome == sorted([EXOSOME_ALERT, EXOSOME_NOTIFICATION, CONSUMER_ALERT, REGENERATIVE_INFO])
    assert len(FOOD_RECALLS) == 3
    assert not any(exosome_tagged(url) for url in FOOD_RECALLS)


# --- content hash: text, not markup ---------------------------------------------------------------------


def test_content_hash_ignores_markup_noise_outside_the_content():
    full = page_bytes(EXOSOME_ALERT)
    original = parse_alert_page(full, EXOSOME_ALERT)
    noisy = full.replace(
        b'<script src="/files/js/lcds-theme.js" defer></script>',
        b'<script src="/files/js/lcds-theme.js?v=2" defer></script><script>var build = "abc123";</script>',
    ).replace(b"1-888-INFO-FDA (1-888-463-6332)", b"1-888-INFO-FDA (1-888-463-6332), updated footer")
    noisy = noisy.replace(
        b'<time datetime="2019-12-09T12:00:00Z">', b'<time datetime="2019-12-10T08:00:00Z">'
    )
    assert noisy != full
    again = parse_alert_page(noisy, EXOSOME_ALERT)
    assert again.content_hash == original.content_hash
    assert again == original


def test_content_hash_ignores_markup_inside_the_content_that_keeps_the_text():
    full = page_bytes(EXOSOME_ALERT)
    restyled = full.replace(b"<strong>ISSUE:</strong>", b'<b class="label">ISSUE:</b><!-- was strong -->')
    assert restyled != full
    assert parse_alert_page(restyled, EXOSOME_ALERT).content_hash == parse_saved(EXOSOME_ALERT).content_hash


def test_content_hash_changes_when_the_body_text_changes():
    full = page_bytes(EXOSOME_ALERT)
    original = parse_alert_page(full, EXOSOME_ALERT)
    edited = parse_alert_page(full.replace(b"patients in Nebraska", b"patients in Nevada"), EXOSOME_ALERT)
    assert "patients in Nevada" in edited.body_text
    assert edited.content_hash != original.content_hash
    one_word_more = parse_alert_page(
        full.replace(b"<p>[Posted 12/09/2019]</p>", b"<p>[Posted 12/09/2019]</p><p>Updated.</p>"),
        EXOSOME_ALERT,
    )
    assert one_word_more.content_hash != original.content_hash


def test_content_hash_changes_when_the_title_changes():
    assert parse_main("<p>Same text.</p>", title="One").content_hash != (
        parse_main("<p>Same text.</p>", title="Two").content_hash
    )
    assert parse_main("<p>Same text.</p>").content_hash == parse_main("<p>Same  text.</p>\n").content_hash


# --- sections: label variants --------------------------------------------------------------------------


def test_title_case_label_in_bold_with_the_colon_outside():
    page = parse_main(
        "<p>[Posted 01/02/2024]</p><p><b>Audience</b>: Patient, Pharmacy</p>"
        "<p><b>Issue</b>: Something is wrong.</p><p>More about it.</p>"
        "<p><b>Background</b>: How it came about.</p><p><b>Recommendation</b>: Stop using it.</p>"
    )
    assert page.audience == "Patient, Pharmacy"
    assert page.issue == "Something is wrong.\nMore about it."
    assert page.background == "How it came about."
    assert page.recommendation == "Stop using it."
    assert page.posted_date == date(2024, 1, 2)


def test_upper_case_label_in_strong_with_the_colon_inside():
    page = parse_main("<p><strong>ISSUE:</strong> Upper case.</p><p><strong>BACKGROUND:</strong> Why.</p>")
    assert (page.issue, page.background) == ("Upper case.", "Why.")


def test_plain_labels_without_bold():
    page = parse_main("<p>Audience: Consumer</p><p>issue: lower case label</p>")
    assert (page.audience, page.issue) == ("Consumer", "lower case label")


def test_label_alone_in_its_own_paragraph_takes_the_next_paragraphs():
    page = parse_main(
        "<p><strong>ISSUE:</strong></p><p>First paragraph.</p><ul><li>A point.</li></ul>"
        "<p><b>Recommendation</b>:</p><p>Do this.</p><p>And that.</p>"
    )
    assert page.issue == "First paragraph.\nA point."
    assert page.recommendation == "Do this.\nAnd that."
    assert page.audience is None and page.background is None


def test_plural_recommendations_label_is_the_recommendation():
    assert parse_main("<p>RECOMMENDATIONS: Check the lot.</p>").recommendation == "Check the lot."


def test_a_section_ends_at_the_bracketed_related_notice_line():
    page = parse_main(
        "<p>RECOMMENDATION: Return the product.</p><p>Call the firm.</p>"
        '<p>[<a href="/x">12/06/2019 - Public Safety Notification on Exosome Products - FDA</a>]</p>'
        "<p>Text after the dated line.</p>"
    )
    assert page.recommendation == "Return the product.\nCall the firm."
    assert "Text after the dated line." in page.body_text


def test_a_section_ends_at_the_encouraged_to_report_paragraph():
    page = parse_main(
        "<p>ISSUE: The issue.</p><p>Its details.</p>"
        "<p>Health care professionals and patients are encouraged to report adverse events or side effects "
        "related to the use of these products to the FDA's MedWatch program.</p><p>Complete and submit.</p>"
    )
    assert page.issue == "The issue.\nIts details."
    spelled = parse_main(
        "<p>ISSUE: The issue.</p><p>Healthcare professionals and patients are encouraged to report.</p>"
    )
    assert spelled.issue == "The issue."


def test_a_second_label_of_one_kind_does_not_replace_the_first():
    page = parse_main("<p>ISSUE: First.</p><p>ISSUE: Second.</p><p>Tail.</p><p>BACKGROUND: B.</p>")
    assert page.issue == "First."
    assert page.background == "B."


def test_pages_without_labels_have_no_sections():
    page = parse_main("<p>December 6, 2019</p><p>The issue is described in prose.</p>")
    assert all(getattr(page, section) is None for section in SECTIONS)


# --- the posted date ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("[Posted 12/09/2019]", date(2019, 12, 9)),
        ("Posted 12/09/2019", date(2019, 12, 9)),
        ("December 6, 2019", date(2019, 12, 6)),
        ("Date: July 22, 2020", date(2020, 7, 22)),
        ("Sept. 3, 2021", date(2021, 9, 3)),
        ("Dec. 6, 2019", date(2019, 12, 6)),
        ("Date: 07/22/2020", date(2020, 7, 22)),
        ("February 30, 2020", None),
        ("[Posted 13/40/2019]", None),
        ("Smarch 6, 2019", None),
        ("December 6, 2019, FDA announced a recall.", None),
    ],
)
def test_date_line_shapes(line, expected):
    assert parse_main(f"<p>{line}</p><p>The notice text.</p>").posted_date == expected


def test_the_date_line_may_follow_a_figure_caption():
    page = parse_main("<figure><figcaption>A caption</figcaption></figure><p>Date: June 3, 2024</p><p>x</p>")
    assert page.posted_date == date(2024, 6, 3)


def test_the_first_date_line_wins():
    assert parse_main("<p>[Posted 12/09/2019]</p><p>December 6, 2019</p>").posted_date == date(2019, 12, 9)


def test_a_date_deep_in_the_text_is_not_the_posted_date():
    prose = "".join(f"<p>Paragraph {n} of the notice.</p>" for n in range(1, 7))
    assert parse_main(prose + "<p>December 6, 2019</p>").posted_date is None
    assert parse_main(
        prose[: -len("<p>Paragraph 6 of the notice.</p>")] + "<p>December 6, 2019</p>"
    ).posted_date == (date(2019, 12, 6))


def test_no_date_line_gives_no_posted_date():
    assert parse_main("<p>FDA is aware of reports dated December 6, 2019 and later.</p>").posted_date is None


# --- pages that are not healthy alert pages ------------------------------------------------------------


def test_akamai_block_page_is_a_source_failure():
    with pytest.raises(SourceFailure, match=r"block page.*Access Denied.*18\.6f5d3e17\.1732871122\.2c4b1a9"):
        parse_alert_page((NOTICES / "broken" / "access_denied.html").read_bytes(), EXOSOME_ALERT)


def test_apology_page_is_a_source_failure():
    apology = b"<html><head><title>FDA Apology Page | FDA</title></head><body><p>Sorry.</p></body></html>"
    with pytest.raises(SourceFailure, match="block page"):
        parse_alert_page(apology, EXOSOME_ALERT)


@pytest.mark.parametrize("url", sorted(EXPECTED))
def test_every_page_cut_in_half_is_truncated(url):
    full = page_bytes(url)
    with pytest.raises(SourceFailure, match="truncated"):
        parse_alert_page(full[: len(full) // 2], url)


def test_page_cut_inside_the_content_is_truncated():
    full = page_bytes(EXOSOME_ALERT)
    with pytest.raises(SourceFailure, match="truncated"):
        parse_alert_page(full[: full.index(b"Ask the clinical investigator")], EXOSOME_ALERT)


def test_page_cut_after_the_content_keeps_the_whole_text():
    full = page_bytes(EXOSOME_ALERT)
    cut = full[: full.index(b"<footer")]
    assert b"</html>" not in cut
    assert parse_alert_page(cut, EXOSOME_ALERT) == parse_alert_page(full, EXOSOME_ALERT)


def test_trailing_whitespace_and_comments_after_the_page_are_fine():
    full = page_bytes(EXOSOME_ALERT)
    assert parse_alert_page(full + b"\n<!-- cache: hit -->\n<!-- 2 -->  ", EXOSOME_ALERT) == parse_saved(
        EXOSOME_ALERT
    )


def test_many_comments_after_html_then_junk_is_answered_quickly():
    page = alert_page("<p>The notice text.</p>") + b"<!--a-->" * 40 + b"x"
    with cpu_time_limit(5.0):
        assert parse_alert_page(page, SYNTHETIC_URL).body_text == "The notice text."


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (
            b'<html><head><title>X | FDA</title></head><body><h1 class="content-title">X</h1>'
            b"<div><p>Text in no content container.</p></div><footer>f</footer></body></html>",
            r"no content \(div\[role=main\]\)",
        ),
        (
            b'<html><head><title>X | FDA</title></head><body><h1 class="content-title">X</h1>'
            b'<div role="main"><script>x()</script> <p hidden>h</p></div><footer>f</footer></body></html>',
            "content .* is empty",
        ),
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        (b"\x00\x01\x02", "empty"),
    ],
)
def test_pages_without_content_are_source_failures(html, reason):
    with pytest.raises(SourceFailure, match=reason):
        parse_alert_page(html, SYNTHETIC_URL)


def test_main_or_article_stands_in_for_a_missing_content_div():
    for container in ("main", "article"):
        html = (
            f"<html><head><title>X | FDA</title></head><body><{container}><p>[Posted 05/06/2024]</p>"
            f"<p>In {container}.</p></{container}><footer>f</footer></body></html>"
        ).encode()
        page = parse_alert_page(html, SYNTHETIC_URL)
        assert page.body_text == f"[Posted 05/06/2024]\n\nIn {container}."
        assert page.posted_date == date(2024, 5, 6)
        assert page.title == "X"  # from <title>, without " | FDA"


@pytest.mark.parametrize("value", ["<html></html>", None, 42, ["<html>"]])
def test_input_must_be_bytes(value):
    with pytest.raises(TypeError):
        parse_alert_page(value, SYNTHETIC_URL)


def test_bytearray_and_memoryview_are_bytes_too():
    html = alert_page("<p>Text.</p>")
    assert parse_alert_page(bytearray(html), SYNTHETIC_URL) == parse_alert_page(html, SYNTHETIC_URL)
    assert parse_alert_page(memoryview(html), SYNTHETIC_URL) == parse_alert_page(html, SYNTHETIC_URL)


def test_a_url_that_is_not_http_is_refused():
    with pytest.raises((ValueError, SourceFailure)):
        parse_alert_page(alert_page("<p>Text.</p>"), "javascript:alert(1)")


# --- hostile content --------------------------------------------------------------------------------------


def test_scripts_styles_hidden_elements_and_comments_never_reach_the_text():
    page = parse_main(
        "<p>Visible one.</p>"
        "<script>document.write('SCRIPT')</script><style>p { content: 'STYLE' }</style>"
        "<!-- COMMENT --><noscript>NOSCRIPT</noscript><template><p>TEMPLATE</p></template>"
        '<div hidden><p>HIDDENATTR</p></div><p style="color: red; display: none">DISPLAYNONE</p>'
        '<p style="DISPLAY:NONE">UPPERNONE</p><p aria-hidden="true">ARIAHIDDEN</p>'
        '<form><input value="FORM"><button>BUTTON</button></form><iframe src="https://x.example">IFRAME</iframe>'
        '<p>Visible <img src="x" onerror="alert(\'IMG\')">two<!-- INLINE --> <svg><text>SVG</text></svg>stays.</p>'
    )
    assert page.body_text == "Visible one.\n\nVisible two stays."
    for hidden in (
        "SCRIPT", "STYLE", "COMMENT", "NOSCRIPT", "TEMPLATE", "HIDDENATTR", "DISPLAYNONE", "UPPERNONE",
        "ARIAHIDDEN", "FORM", "BUTTON", "IFRAME", "IMG", "INLINE", "SVG",
    ):  # fmt: skip
        assert hidden not in page.body_text


def test_hidden_labels_do_not_make_sections():
    page = parse_main(
        '<p hidden>ISSUE: Hidden issue.</p><p style="display:none">AUDIENCE: Nobody</p><p>Text.</p>'
    )
    assert page.issue is None and page.audience is None


def test_control_characters_and_bidi_overrides_are_removed():
    page = parse_main(
        "<p>[Posted\x0b 12/09/2019]</p><p>ISSUE: Bad\x00 bytes\x07 and\x1b[31m escapes\u202e here\u2066.</p>"
        "<p>C1\x85 control.</p>",
        title="Ti\x08tle\u202e",
    )
    assert page.title == "Title"
    assert page.issue == "Bad bytes and[31m escapes here.\nC1 control."
    assert page.posted_date == date(2019, 12, 9)
    assert not re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", page.body_text)


def test_invalid_utf8_is_replaced_not_fatal():
    html = alert_page("<p>CafXX au lait.</p>").replace(b"XX", b"\xff\xfe")
    assert "\ufffd" in parse_alert_page(html, SYNTHETIC_URL).body_text


def test_deeply_nested_markup_is_refused_not_read_in_part():
    """libxml2 stops at 256 levels and drops the rest: the page is refused, quickly, no overflow."""
    with pytest.raises(SourceFailure, match="deeper than the parser reads"):
        parse_main("<p>[Posted 12/09/2019]</p>" + "<div>" * 3000 + "deep" + "</div>" * 3000)


def test_nesting_of_250_levels_keeps_all_the_text():
    page = parse_main("<p>start</p>" + "<div>" * 250 + "deep" + "</div>" * 250 + "<p>after</p>")
    assert page.body_text == "start\n\ndeep\n\nafter"


def test_text_after_markup_nested_300_deep_is_kept_or_the_page_refused():
    main = "<p>start</p>" + "<div>" * 300 + "deep" + "</div>" * 300 + "<p>ISSUE: after the nesting.</p>"
    try:
        page = parse_main(main)
    except SourceFailure:
        return  # refusing the page is as good as reading it whole
    assert page.body_text.endswith("ISSUE: after the nesting.")
    assert page.issue == "after the nesting."


def test_page_over_5_mb_is_refused():
    with pytest.raises(SourceFailure, match="over the 5242880-byte limit"):
        parse_alert_page(alert_page("<p>" + "a " * (3 * 1024 * 1024) + "</p>"), SYNTHETIC_URL)


# --- alert_links on the CBER index page ------------------------------------------------------------------


def test_index_page_links_are_the_three_alert_pages_in_page_order():
    links = alert_links(page_bytes(INDEX), INDEX, INDEX_PREFIXES)
    assert links == [
        (
            REGENERATIVE_INFO,
            "Important Patient and Consumer Information About Regenerative Medicine Therapies",
        ),
        (
            CONSUMER_ALERT,
            "Consumer Alert on Regenerative Medicine Products Including Stem Cells and Exosomes",
        ),
        (EXOSOME_NOTIFICATION, "Public Safety Notification on Exosome Products"),
    ]
    for url, text in links:
        assert url in EXPECTED and text == EXPECTED[url]["title"]


def test_index_page_links_leave_out_navigation_footer_mail_script_and_other_sites():
    """With "/" as the only prefix, every fda.gov link passes the path test: what is left out is left
    out for where it stands (header, navigation, footer) or where it points (mail, script, other hosts)."""
    links = [url for url, _ in alert_links(page_bytes(INDEX), INDEX, ("/",))]
    assert links == [REGENERATIVE_INFO, CONSUMER_ALERT, EXOSOME_NOTIFICATION]


def index_page(main: str, chrome: str = "") -> bytes:
    return (
        "<html><head><title>Index | FDA</title></head><body>"
        f'<header role="banner">{chrome}</header><nav>{chrome}</nav>'
        f'<h1 class="content-title">Index</h1><div role="main">{main}</div>'
        f"<footer>{chrome}</footer></body></html>"
    ).encode()


def test_links_in_navigation_banner_and_footer_are_left_out_even_under_a_listed_path():
    chrome = '<a href="/vaccines-blood-biologics/safety-availability-biologics/in-chrome">Chrome</a>'
    html = index_page(
        '<a href="/vaccines-blood-biologics/safety-availability-biologics/in-main">Main</a>', chrome
    )
    assert alert_links(html, INDEX, INDEX_PREFIXES) == [(CBER_SAFETY + "in-main", "Main")]


def test_relative_links_resolve_against_the_page_url():
    html = index_page(
        '<a href="safety-availability-biologics/relative-one">One</a>'
        '<a href="./consumers-biologics/relative-two">Two</a>'
        '<a href="/vaccines-blood-biologics/safety-availability-biologics/../consumers-biologics/three">Three</a>'
        '<a href="relative-elsewhere">Elsewhere</a>'
    )
    assert alert_links(html, INDEX, INDEX_PREFIXES) == [
        (CBER_SAFETY + "relative-one", "One"),
        (CBER_CONSUMER + "relative-two", "Two"),
        (CBER_CONSUMER + "three", "Three"),
    ]


def test_a_link_to_another_host_is_left_out_even_under_a_listed_path():
    html = index_page(
        '<a href="https://evil.example/vaccines-blood-biologics/safety-availability-biologics/x">Evil</a>'
        '<a href="//cdn.example/vaccines-blood-biologics/consumers-biologics/y">Protocol-relative</a>'
        '<a href="https://www.fda.gov.evil.example/vaccines-blood-biologics/consumers-biologics/z">Lookalike</a>'
        '<a href="https://fda.gov/vaccines-blood-biologics/consumers-biologics/alias">Alias</a>'
    )
    assert alert_links(html, INDEX, INDEX_PREFIXES) == [(CBER_CONSUMER + "alias", "Alias")]


def test_mailto_javascript_data_fragment_and_broken_links_are_left_out():
    html = index_page(
        '<a href="mailto:OTATRPMS@fda.hhs.gov">Mail</a><a href="javascript:void(0)">Script</a>'
        '<a href="data:text/html,x">Data</a><a href="#top">Top</a><a href="">Empty</a><a>No href</a>'
        '<a href="http://[::1/vaccines-blood-biologics/consumers-biologics/v6">Broken</a>'
        '<a href="/vaccines-blood-biologics/consumers-biologics/kept">Kept</a>'
    )
    assert alert_links(html, INDEX, INDEX_PREFIXES) == [(CBER_CONSUMER + "kept", "Kept")]


def test_links_are_canonical_and_listed_once_with_their_first_text():
    html = index_page(
        '<a href="http://www.fda.gov/vaccines-blood-biologics/consumers-biologics/a/?utm_source=govdelivery#x">'
        "First <em>text</em></a>"
        '<a href="/vaccines-blood-biologics/consumers-biologics/a">Second text</a>'
        '<a href="/vaccines-blood-biologics/consumers-biologics/b"><img src="i.png" alt=""></a>'
        f'<a href="{INDEX}">The page itself</a>'
    )
    assert alert_links(html, INDEX, ("/vaccines-blood-biologics/",)) == [
        (CBER_CONSUMER + "a", "First text"),
        (CBER_CONSUMER + "b", None),
    ]


def test_alert_links_refuses_block_pages_and_non_bytes():
    with pytest.raises(SourceFailure, match="block page"):
        alert_links((NOTICES / "broken" / "access_denied.html").read_bytes(), INDEX, INDEX_PREFIXES)
    with pytest.raises(TypeError):
        alert_links(page_bytes(INDEX).decode(), INDEX, INDEX_PREFIXES)
