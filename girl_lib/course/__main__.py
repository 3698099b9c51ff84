"""``python -m girl_lib.course``: see :func:`girl_lib.course.cli.main`."""

import sys

from .cli import main

sys.exit(main())
