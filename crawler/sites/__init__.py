"""Reading clinics' own sites: which links lead to treatments, and the per-site crawl plan."""
