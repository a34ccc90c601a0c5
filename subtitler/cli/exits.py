"""Exit status: 0 all good, 1 some input failed, 2 a usage error (bad options or environment,
reported before any work starts) or a service that cannot be used, 130 interrupted."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from subtitler.outputs.delivery import Receiver

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""


EXIT_OK = 0


EXIT_FAILED = 1


EXIT_USAGE = 2


EXIT_INTERRUPTED = 130


def exit_status(
    *, failed: bool, key_refused: bool, stopped: bool, resumable: bool, watching: bool
) -> int:
    """The run's exit code: 2 for a refused key or an endpoint that is not there (nothing more
    can work: `key_refused` stands for both); a stop ends `watch`
    normally (0: `systemctl stop` is no failure) and interrupts a run of files that can be
    resumed (130); else 1 when any input failed."""
    if key_refused:
        return EXIT_USAGE
    if stopped and watching:
        return EXIT_OK
    if stopped and resumable:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK
