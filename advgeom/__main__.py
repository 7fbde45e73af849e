"""``python -m advgeom``: the command line (see :mod:`advgeom.cli`)."""

import sys

from advgeom.cli import main

sys.exit(main())
