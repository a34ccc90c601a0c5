"""`python -m subtitler.emulator`: the same as `subtitler emulator`."""

import sys

from subtitler.cli import main

sys.exit(main(["emulator", *sys.argv[1:]]))
