"""The clinic page extractor (crawler.extract.clinic_page) on small pages written here: the text
without boilerplate, the main content when the page marks it, title and language, the links of the
whole page, the content hash, encodings, size limits; and the sitemap reader.

Expected texts and links are written out by hand from the pages, never taken from the extractor.
"""

from __future__ import annotations

import hashlib

import pytest

from crawler.errors import SourceFailure
from crawler.extract.clinic_page import ClinicPage, parse_clinic_page, sitemap_urls
from crawler.extract.html import MAX_PAGE_BYTES

HOME = "http://www.glow.example/home/"


def page(body: str, title: str = "Glow Med Spa | Home", lang: str | None = "en", head: str = "") -> bytes:
    lang_attribute = f' lang="{lang}"' if lang is not None else ""
    return (
        f'<!DOCTYPE html><html{lang_attribute}><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
        f"<body>{body}</body></html>"
    ).encode()


def parse(body: str, url: str = HOME, **kwargs) -> ClinicPage:
    return parse_clinic_page(page(body, **kwargs), url)


# --- boilerplate ------------------------------------------------------------------------------------

BOILERPLATE = {
    "nav": "<nav><a href='/a'>Nav words</a></nav>",
    "header": "<header><p>Header words</p></header>",
    "footer": "<footer><p>Footer words</p></footer>",
    "aside": "<aside><p>Aside words</p></aside>",
    "form": "<form><label>Form words</label><input value='Input words'></form>",
    "dialog": "<dialog open><p>Dialog words</p></dialog>",
    "cookie class": '<div class="cookie-banner"><p>Cookie words</p><button>Accept</button></div>',
    "cookie id": '<div id="cookies"><p>Cookies words</p></div>',
    "consent class": '<div class="consent_popup"><p>Consent words</p></div>',
    "gdpr id": '<section id="gdpr-notice"><p>Gdpr words</p></section>',
    "role navigation": '<div role="navigation"><p>Role nav words</p></div>',
    "role banner": '<div role="banner"><p>Banner words</p></div>',
    "role contentinfo": '<div role="contentinfo"><p>Contentinfo words</p></div>',
    "share buttons": '<div class="share-buttons"><a href="https://facebook.com/sharer">Share words</a></div>',
    "social": '<ul class="social"><li>Social words</li></ul>',
    "ad slot": '<div class="ad-slot"><p>Ad words</p></div>',
    "advert id": '<div id="advert"><p>Advert words</p></div>',
    "newsletter": '<div class="newsletter signup"><p>Newsletter words</p></div>',
    "breadcrumbs": '<ol class="breadcrumbs"><li>Breadcrumb words</li></ol>',
    "script": "<script>var words = 'Script words';</script>",
    "style": "<style>.words::after { content: 'Style words'; }</style>",
    "noscript": "<noscript>Noscript words</noscript>",
    "template": "<template><p>Template words</p></template>",
    "hidden attribute": "<div hidden><p>Hidden words</p></div>",
    "display none": '<div style="display: none"><p>Display none words</p></div>',
    "aria hidden": '<span aria-hidden="true">Aria hidden words</span>',
}


@pytest.mark.parametrize("name", sorted(BOILERPLATE))
def test_boilerplate_is_never_in_the_text(name):
    found = parse(f"<div><p>Welcome to Glow.</p>{BOILERPLATE[name]}<p>We offer exosome facials.</p></div>")
    assert found.text == "Welcome to Glow.\nWe offer exosome facials."


def test_all_boilerplate_at_once_leaves_the_content():
    found = parse("".join(BOILERPLATE.values()) + "<p>Welcome to Glow.</p><p>We offer exosome facials.</p>")
    assert found.text == "Welcome to Glow.\nWe offer exosome facials."


def test_words_in_class_names_match_only_whole_words():
    found = parse(
        '<div class="head">Head kept</div><div class="download">Download kept</div>'
        '<div class="shareholders">Shareholders kept</div><div class="address">Address kept</div>'
    )
    assert found.text == "Head kept\nDownload kept\nShareholders kept\nAddress kept"


def test_text_after_removed_boilerplate_stays_in_its_place():
    assert parse("<div><p>One</p><nav>Menu</nav>tail text<p>Two</p></div>").text == "One\ntail text\nTwo"


@pytest.mark.parametrize(
    "body",
    [
        '<div class="site-content has-sidebar"><main><p>Our treatments</p></main><aside>Side</aside></div>',
        '<div id="page" class="layout with-sidebar"><p>Our treatments</p></div>',
    ],
)
def test_a_layout_wrapper_named_after_its_sidebar_is_not_boilerplate(body):
    assert parse(body).text == "Our treatments"


# --- main content ---------------------------------------------------------------------------------


def test_main_is_preferred_when_present():
    found = parse(
        "<div><p>Promo outside</p></div><main><h1>Exosome Facial</h1><p>From $300.</p></main><p>After</p>"
    )
    assert found.text == "Exosome Facial\nFrom $300."


def test_role_main_is_preferred_when_present():
    found = parse('<p>Outside</p><div role="main"><p>Role main text</p></div>')
    assert found.text == "Role main text"


def test_an_article_is_preferred_when_present():
    found = parse("<div><p>Outside</p></div><article><p>Article text</p></article>")
    assert found.text == "Article text"


def test_the_longest_marked_content_wins():
    found = parse("<article><p>Short</p></article><main><p>The main content is longer than that.</p></main>")
    assert found.text == "The main content is longer than that."


def test_boilerplate_inside_main_is_removed_too():
    found = parse("<main><p>Kept</p><div class='share'>Share this</div><form>Book</form></main>")
    assert found.text == "Kept"


def test_repeated_lines_are_written_once():
    assert parse("<p>Book now</p><p>Book now</p><p>Call us</p>").text == "Book now\nCall us"


def test_an_empty_body_has_empty_text():
    found = parse("<nav><a href='/treatments'>Treatments</a></nav>")
    assert found.text == ""
    assert found.content_hash == hashlib.sha256(b"").hexdigest()
    assert found.links == (("http://www.glow.example/treatments", "Treatments"),)


# --- title and language -------------------------------------------------------------------------------


def test_title_and_lang():
    found = parse("<p>x</p>", title="  Glow   Med Spa\n| Exosomes ", lang="ko-KR")
    assert (found.title, found.lang) == ("Glow Med Spa | Exosomes", "ko-KR")


def test_no_title_and_no_lang_are_none():
    found = parse_clinic_page(b"<html><body><p>x</p></body></html>", HOME)
    assert (found.title, found.lang) == (None, None)


def test_the_page_url_is_canonical_with_its_scheme_kept():
    assert (
        parse("<p>x</p>", url="http://WWW.Glow.Example:80/home/?utm_source=ad#top").url
        == "http://www.glow.example/home"
    )
    assert parse("<p>x</p>", url="https://glow.example/a/").url == "https://glow.example/a"


# --- links --------------------------------------------------------------------------------------------

LINKS_PAGE = """
<header><a href="/">Glow</a>
  <nav>
    <a href="/treatments/exosomes">Exosome <b>Therapy</b></a>
    <a href="/pricing?utm_source=nav&amp;utm_medium=menu#top">Prices</a>
    <a href="services/">Services</a>
  </nav>
</header>
<main>
  <p>Welcome. <a href="https://WWW.Other.Example/a/?b=1&amp;utm_campaign=x#frag">Partner</a></p>
  <a href="mailto:info@glow.example">Mail</a>
  <a href="tel:+12125550142">Call</a>
  <a href="javascript:void(0)">Menu</a>
  <a href="#reviews">Reviews</a>
  <a href="data:text/html,hi">Data</a>
  <a href="ftp://files.glow.example/x">FTP</a>
  <a href="/pricing">Pricing again</a>
  <a href="/team"><img src="team.jpg" alt="Team"></a>
  <a href="/team">Our team</a>
</main>
<footer><a href="../privacy">Privacy</a></footer>
"""


def test_links_are_read_from_the_whole_page_resolved_and_canonical():
    assert parse(LINKS_PAGE).links == (
        ("http://www.glow.example/", "Glow"),
        ("http://www.glow.example/treatments/exosomes", "Exosome Therapy"),
        ("http://www.glow.example/pricing", "Prices | Pricing again"),  # every anchor of a URL
        ("http://www.glow.example/home/services", "Services"),
        ("https://www.other.example/a?b=1", "Partner"),
        ("http://www.glow.example/team", "Our team"),
        ("http://www.glow.example/privacy", "Privacy"),
    )


def test_links_keep_https_on_an_https_page():
    found = parse(
        '<a href="/skin">Skin</a><a href="http://glow.example/old">Old</a>', url="https://glow.example/"
    )
    assert found.links == (("https://glow.example/skin", "Skin"), ("http://glow.example/old", "Old"))


def test_links_are_read_before_the_boilerplate_goes_and_not_in_the_text():
    found = parse(LINKS_PAGE)
    assert "Exosome Therapy" not in found.text
    assert "Privacy" not in found.text
    assert found.text.startswith("Welcome. Partner")


# --- content hash -------------------------------------------------------------------------------------

CONTENT = "<main><h1>Exosome Facial</h1><p>From $300 per session.</p></main>"


def test_the_hash_is_the_sha256_of_the_text():
    found = parse(CONTENT)
    assert found.content_hash == hashlib.sha256(found.text.encode("utf-8")).hexdigest()


def test_the_hash_ignores_nav_footer_ads_and_a_nonce_script():
    one = parse(
        "<nav><a href='/a'>Treatments</a></nav>"
        + CONTENT
        + "<div class='ad'>Buy now 10% off</div><footer>© 2024</footer>"
        + "<script nonce='abc123'>window.n='abc123'</script>",
        title="One",
    )
    two = parse(
        "<nav><a href='/b'>Treatments</a><a href='/c'>Pricing</a></nav>"
        + "<div class='ad'>Spring sale</div>"
        + CONTENT
        + "<footer>© 2025 Glow</footer><script nonce='zz99'>window.n='zz99'</script>",
        title="Two",
    )
    assert one.content_hash == two.content_hash
    assert one.links != two.links


def test_the_hash_changes_when_the_text_changes():
    one = parse(CONTENT)
    two = parse(CONTENT.replace("$300", "$350"))
    assert one.content_hash != two.content_hash


# --- encodings and hostile bytes -------------------------------------------------------------------

CP1252_TEXT = "Caf\u00e9 Botox\u00ae \u201cbest\u201d"


def cp1252_page() -> bytes:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Glow Caf\u00e9</title></head>'
        f"<body><main><p>{CP1252_TEXT}</p></main></body></html>"
    ).encode("cp1252")


def test_a_page_read_in_its_declared_windows_1252():
    found = parse_clinic_page(cp1252_page(), HOME, "windows-1252")
    assert (found.title, found.text, found.encoding) == ("Glow Caf\u00e9", CP1252_TEXT, "windows-1252")


def test_a_utf8_page_is_read_as_utf8():
    found = parse("<p>Cilt bakımı · 피부 시술 · Café</p>")
    assert (found.text, found.encoding) == ("Cilt bakımı · 피부 시술 · Café", "utf-8")


def test_a_page_declared_utf8_but_windows_1252_is_read_correctly():
    found = parse_clinic_page(cp1252_page(), HOME, "utf-8")
    assert found.text == CP1252_TEXT
    assert found.title == "Glow Caf\u00e9"


def test_a_page_declared_utf8_but_not_utf8_reports_the_encoding_it_was_read_with():
    found = parse_clinic_page(cp1252_page(), HOME, "utf-8")
    assert found.encoding is not None
    assert found.encoding.lower().replace("-", "").replace("_", "") != "utf8"


def test_a_nul_byte_is_dropped():
    found = parse_clinic_page(b"<html><body><p>Exo\x00some\x01 facials</p></body></html>", HOME)
    assert found.text == "Exosome facials"


def test_a_page_over_the_size_limit_is_a_source_failure():
    data = b"<html><body><p>" + b"a" * MAX_PAGE_BYTES + b"</p></body></html>"
    with pytest.raises(SourceFailure, match="over the"):
        parse_clinic_page(data, HOME)


def test_an_empty_page_is_a_source_failure():
    with pytest.raises(SourceFailure, match="empty"):
        parse_clinic_page(b"  \n\x00 ", HOME)


# --- sitemaps --------------------------------------------------------------------------------------

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url><loc>http://www.glow.example/treatments/</loc><lastmod>2024-01-01</lastmod></url>
  <url><loc>
    https://glow.example/pricing?utm_source=sitemap#prices
  </loc></url>
  <url><loc>javascript:alert(1)</loc></url>
  <url><loc></loc></url>
  <url><loc>https://glow.example/%ED%94%BC%EB%B6%80</loc></url>
</urlset>"""

SITEMAP_INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://glow.example/sitemap-pages.xml</loc></sitemap>
  <sitemap><loc>https://glow.example/sitemap-posts.xml</loc></sitemap>
</sitemapindex>"""


def test_a_urlset_lists_its_page_urls_canonical():
    assert sitemap_urls(URLSET) == [
        "https://www.glow.example/treatments",
        "https://glow.example/pricing",
        "https://glow.example/%ED%94%BC%EB%B6%80",
    ]


def test_a_sitemap_index_lists_its_sitemaps():
    assert sitemap_urls(SITEMAP_INDEX) == [
        "https://glow.example/sitemap-pages.xml",
        "https://glow.example/sitemap-posts.xml",
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"junk",
        b"\x00\xff\xfe not xml",
        b"<urlset><url><loc>https://glow.example/a</loc></url>",
        b"<!DOCTYPE html><html><body><a href='/a'>A</a></body></html>",
        b"<html><head><title>Glow</title></head><body><p>Not a sitemap<br></p></body></html>",
        b"<html><body><p>Well-formed HTML without loc</p></body></html>",
    ],
)
def test_junk_and_html_are_no_sitemap(data):
    assert sitemap_urls(data) == []


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x "https://evil.example/">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc></url></urlset>',
        b'<?xml version="1.0"?><!doctype urlset SYSTEM "http://127.0.0.1:9/x.dtd">'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://a.example/</loc></url></urlset>',
        b'<?xml version="1.0"?><!ENTITY x "y"><urlset><url><loc>https://a.example/</loc></url></urlset>',
    ],
)
def test_a_document_with_a_doctype_or_entity_is_no_sitemap(data):
    assert sitemap_urls(data) == []


def test_a_plain_header_and_footer_go_but_the_article_keeps_its_own():
    html = (
        b"<html><body><header><p>Home Menu Prices</p></header><main><article><header><h1>Exosome facial"
        b"</h1></header><p>Body text here.</p><footer>By Dr A</footer></article></main>"
        b"<footer><p>Copyright site</p></footer></body></html>"
    )
    assert parse_clinic_page(html, "http://x.example/").text == "Exosome facial\nBody text here.\nBy Dr A"
