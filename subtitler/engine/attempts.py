"""How one target's Gummy tasks have gone so far: what `policy.decide` decides the next from,
and the counts its result reports. Owned by the target's `TargetTask`, changed only here."""

from __future__ import annotations

from dataclasses import dataclass

from subtitler.engine.policy import Action, Decision


@dataclass
class Attempts:
    started: int = 0
    """Tasks started for this target (the first one and every resume, stall or rollover)."""
    failures: int = 0
    """Failures the retry budget counts."""
    throttled: int = 0
    """Waits for the service's rate."""
    resumes: int = 0
    """Tasks started again after a failure."""
    stalls: int = 0
    """Tasks finished because the audio paused (a live source)."""

    def start(self) -> int:
        """A new task: its generation (events of an older task are ignored)."""
        self.started += 1
        return self.started

    def stalled(self) -> None:
        self.stalls += 1

    def failed(self, decision: Decision) -> None:
        """A task failed and `decision` resumes the target (after its delay)."""
        if decision.counted:
            self.failures += 1
        if decision.action is Action.WAIT_FOR_RATE:
            self.throttled += 1
        self.resumes += 1
