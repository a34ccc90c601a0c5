"""A target's phase machine as data, as h11 keeps its transitions: every phase lists the phases
it may move to, so a step the task was never meant to take fails loudly where it is taken
instead of leaving the task in a state nothing expects."""

from __future__ import annotations

from enum import Enum


class Phase(Enum):
    WAITING_FOR_AUDIO = "waiting for audio"
    STARTING = "starting"
    STREAMING = "streaming"
    FINISHING = "finishing"
    DONE = "done"
    FAILED = "failed"


TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    # Between tasks: the next starts once there is audio, or the target is over.
    Phase.WAITING_FOR_AUDIO: frozenset({Phase.STARTING, Phase.DONE, Phase.FAILED}),
    # `run-task` sent: `task-started` arrives, or the task failed (the next waits for audio).
    Phase.STARTING: frozenset({Phase.STREAMING, Phase.WAITING_FOR_AUDIO, Phase.DONE, Phase.FAILED}),
    # The service may finish a task it was never asked to finish (`task-finished` at the end).
    Phase.STREAMING: frozenset(
        {Phase.FINISHING, Phase.WAITING_FOR_AUDIO, Phase.DONE, Phase.FAILED}
    ),
    Phase.FINISHING: frozenset({Phase.WAITING_FOR_AUDIO, Phase.DONE, Phase.FAILED}),
    Phase.DONE: frozenset(),
    Phase.FAILED: frozenset(),
}
OVER = frozenset({Phase.DONE, Phase.FAILED})


class PhaseError(RuntimeError):
    """A transition `TRANSITIONS` does not allow: a bug in the task, never a service problem."""


class PhaseMachine:
    """The one phase of one target, changed only through `enter`."""

    def __init__(self) -> None:
        self._phase = Phase.WAITING_FOR_AUDIO

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def over(self) -> bool:
        return self._phase in OVER

    def enter(self, phase: Phase) -> None:
        """Move to `phase`; staying where it is is no step at all."""
        if phase is not self._phase and phase not in TRANSITIONS[self._phase]:
            raise PhaseError(f"{self._phase.value} -> {phase.value}")
        self._phase = phase
