"""exowatch's spiders, by name (the name `exowatch crawl` takes)."""

from __future__ import annotations


def spider_class(name: str) -> type:
    """The spider class for `name`; imported lazily so that naming one does not import all."""
    if name == "fda_warning_letters":
        from crawler.spiders.fda_warning_letters import FdaWarningLettersSpider

        return FdaWarningLettersSpider
    if name == "fda_notices":
        from crawler.spiders.fda_notices import FdaNoticesSpider

        return FdaNoticesSpider
    if name == "clinic_listings":
        from crawler.spiders.clinic_listings import ClinicListingsSpider

        return ClinicListingsSpider
    if name == "clinic_sites":
        from crawler.spiders.clinic_sites import ClinicSitesSpider

        return ClinicSitesSpider
    raise KeyError(name)


SPIDERS = ("fda_warning_letters", "fda_notices", "clinic_listings", "clinic_sites")
