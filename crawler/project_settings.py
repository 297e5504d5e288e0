"""Scrapy's project settings (scrapy.cfg names this module), for Scrapy's own commands in a checkout:
`scrapy list`, `scrapy parse --spider=NAME URL`, `scrapy shell URL`, `scrapy crawl NAME -O FILE`.

They are the settings of every exowatch crawl (crawler.settings: the URL gate, robots.txt, limits,
politeness) with the [crawl] table of the configuration exowatch would use (EXOWATCH_CONFIG, else
./config.toml, else the defaults): its contact, allow_hosts, proxy and delays. Items go through the
pipelines that need no store (the letters' tags), so an export holds what a crawl would store
without writing to any store; `exowatch crawl` adds the store pipelines (crawler.plans).
"""

from __future__ import annotations

from crawler.settings import crawl_settings
from monitor.config import load_config

_crawl = load_config().crawl

for _name, _value in crawl_settings(
    user_agent_contact=_crawl.contact,
    allow_hosts=_crawl.allow_hosts,
    overrides={
        "DOWNLOAD_DELAY": _crawl.download_delay_seconds,
        "AUTOTHROTTLE_ENABLED": _crawl.autothrottle,
        "CONCURRENT_REQUESTS_PER_DOMAIN": _crawl.requests_per_site,
        "EXOWATCH_PROXY": _crawl.proxy,
        "ITEM_PIPELINES": {"crawler.pipelines.letter_tags.LetterTagPipeline": 200},
    },
).items():
    globals()[_name] = _value

SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
