"""exowatch's extraction side: pure extractors and normalizers, and (later) the Scrapy spiders.

Importing this package must stay cheap: it does not import Scrapy, so the command line and the
backfill importer can use the extractors without starting a crawler.
"""
