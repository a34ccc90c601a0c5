"""What one job request may ask for: the defaults of `serve --max-job-kb` and `--max-job-paths`
(a module of its own so the command line reads them without loading the server)."""

MAX_JOB_BYTES = 1024 * 1024
"""A job's body: thousands of paths fit; a flood is refused before it is read."""
MAX_JOB_PATHS = 1000
"""Paths in one job (a folder counts as one: it stands for all its files)."""
