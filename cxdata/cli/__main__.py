"""`python -m cxdata.cli`: the same as the `cxdata` command."""

import sys

from cxdata.cli import main

sys.exit(main())
