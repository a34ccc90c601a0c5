"""What one job request may ask for: the defaults of `serve --max-job-kb` and `--max-job-paths`
(a module of its own so the command line reads them without loading the server)."""

MAX_JOB_BYTES = 1024 * 1024
"""A job's body: thousands of paths fit; a flood is refused before it is read."""
MAX_JOB_PATHS = 1000
"""Paths in one job (a folder counts as one: it stands for all its files)."""
SIGN_IN_MAX_BYTES = 4 * 1024
"""The sign-in form (one token): read by anyone before the token is checked, so kept tiny."""
REVIEW_MAX_BYTES = 64 * 1024
"""One review edit or check (a cue's lines): the review mount's bodies are never uploads."""
