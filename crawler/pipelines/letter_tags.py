"""Tag each letter page's text: the relevance tags (exosome, stem cell...) and the product names.

One concern, after the spider's extraction and before the store: the same tagger the notices and
the letter backfill use, so a letter's tags do not depend on how it arrived."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from crawler.items import LetterPageItem
from crawler.relevance import product_names, tag_text


class LetterTagPipeline:
    def process_item(self, item: Any) -> Any:
        if not isinstance(item, LetterPageItem):
            return item
        text = item.page.body_text or ""
        return replace(item, tags=tag_text(text), product_names=product_names(text))
