"""monitor.flagging.decide: which flags open, escalate and resolve, and on what evidence."""

from monitor.flagging import decide


def _page(page_id: int, url: str, phrases: list[str], rule: str = "exosome_route") -> dict:
    finding = {
        "rule_id": rule,
        "rule_version": 1,
        "severity": "high",
        "phrases": phrases,
        "snippet": f"snippet of {url}",
        "start": 0,
        "end": 10,
        "cites": [],
    }
    return {"page_id": page_id, "url": url, "content_hash": f"h{page_id}", "findings": [finding]}


def test_a_flag_cites_the_same_page_whatever_order_the_crawl_found_them_in():
    pages = [
        _page(1, "http://revive.example/blog/nad-vs-exosome-iv", ["exosome", "IV"]),
        _page(2, "http://revive.example/iv-therapy", ["exosome", "IV drip", "infusion"]),
        _page(3, "http://revive.example/pricing", ["exosome", "infusion", "IV"]),
    ]
    chosen = {
        decide({7: order}, {})[0]["evidence"]["url"] for order in (pages, pages[::-1], pages[1:] + pages[:1])
    }
    # most phrases first; between equals, the shorter URL
    assert chosen == {"http://revive.example/pricing"}
