"""Which links of a clinic's page the crawl follows (crawler.sites.site_links), without a crawl."""

from crawler.sites.site_links import SiteView, on_site_scheme, treatment_links

SITE = SiteView(domain="glow.example", scheme="https", host="www.glow.example")


def test_links_to_the_site_are_read_from_its_own_host_and_scheme():
    assert on_site_scheme(SITE, "http://glow.example/prices") == "https://www.glow.example/prices"
    assert on_site_scheme(SITE, "https://book.glow.example/x") == "https://book.glow.example/x"
    assert on_site_scheme(SITE, "http://other.example/prices") == "http://other.example/prices"


def test_only_treatment_links_on_the_site_are_chosen_and_private_addresses_are_refused():
    chosen = treatment_links(
        SITE,
        [
            ("https://www.glow.example/services/exosome-facial", "Exosome facial"),
            ("http://glow.example/about-us", "About us"),
            ("https://book.glow.example/pricing", "Prices"),
            ("https://other.example/services", "Services elsewhere"),
            ("http://10.0.0.1/services", "Internal menu"),
            ("http://8.8.8.8/services", "A public IP"),
        ],
    )
    assert chosen.links == (
        ("https://www.glow.example/services/exosome-facial", "Exosome facial"),
        ("https://book.glow.example/pricing", "Prices"),
    )
    assert [url for url, _ in chosen.refused] == ["http://10.0.0.1/services"]
    assert chosen.refused[0][1]  # the gate's reason, for the log
