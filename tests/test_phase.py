"""The target's phase machine, on values: its table, and a step it does not allow refused."""

from __future__ import annotations

import pytest

from subtitler.engine.phase import TRANSITIONS, Phase, PhaseError, PhaseMachine


def test_a_task_that_rolls_over_then_ends_walks_the_table() -> None:
    machine = PhaseMachine()
    for phase in (Phase.STARTING, Phase.STREAMING, Phase.FINISHING, Phase.WAITING_FOR_AUDIO,
                  Phase.STARTING, Phase.STREAMING, Phase.FINISHING, Phase.DONE):  # fmt: skip
        machine.enter(phase)
    assert machine.phase is Phase.DONE and machine.over


def test_over_is_final_and_a_step_not_in_the_table_is_refused() -> None:
    assert TRANSITIONS[Phase.DONE] == TRANSITIONS[Phase.FAILED] == frozenset()
    assert all(Phase.FAILED in TRANSITIONS[p] for p in Phase if p not in (Phase.DONE, Phase.FAILED))
    machine = PhaseMachine()
    with pytest.raises(PhaseError, match="waiting for audio -> streaming"):
        machine.enter(Phase.STREAMING)  # no task was started
    machine.enter(Phase.FAILED)
    with pytest.raises(PhaseError):
        machine.enter(Phase.STARTING)
    machine.enter(Phase.FAILED)  # staying is no step
