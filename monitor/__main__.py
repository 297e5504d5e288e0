"""`python -m monitor` is the `exowatch` command."""

import sys

from monitor.cli import main

sys.exit(main())
