"""Whether a run continues an interrupted one, on values: read from the journal as it was."""

from __future__ import annotations

from subtitler.engine.decide import continues_interrupted
from subtitler.engine.journal import InputState, TargetProgress
from subtitler.engine.plan import Need, TargetWork


def journal(**targets: TargetProgress) -> InputState:
    return InputState("film.mkv", {}, dict(targets))


def run(*targets: str) -> list[TargetWork]:
    return [TargetWork(target, Need.RUN, ()) for target in targets]


def test_a_target_added_to_a_finished_input_is_no_resume() -> None:
    finished = journal(en=TargetProgress(resume_ms=60_000, finished=True))
    assert not continues_interrupted(finished, [TargetWork("en", Need.KEEP, ()), *run("ja")])


def test_an_unfinished_target_or_a_run_stopped_before_any_sentence_is_a_resume() -> None:
    stopped = journal(en=TargetProgress(resume_ms=30_000), ja=TargetProgress())
    assert continues_interrupted(stopped, run("en", "ja"))
    assert continues_interrupted(journal(), run("en"))  # stopped before its first sentence
    assert not continues_interrupted(None, run("en"))  # fresh
