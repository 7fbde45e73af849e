"""``python -m advgeom``: the command line (see :mod:`advgeom.cli`)."""

import sys

from advgeom.cli import main

if __name__ == "__main__":
    sys.exit(main())
