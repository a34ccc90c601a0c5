"""`python -m subtitler`: the same as the `subtitler` command."""

import sys

from subtitler.cli import main

sys.exit(main())
