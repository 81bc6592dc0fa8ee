"""``python -m linclass``: the ``linclass`` command line, for when the console script is not on PATH."""

import sys

from linclass.cli import main

sys.exit(main())
