"""`python -m crawler SPIDER --run-id N`: one crawl, in this process (see crawler.run)."""

import sys

from crawler.run import main

sys.exit(main())
