"""One input's review session (`review/session.py`) on a journal written here, with a stand-in
translator (a pure unit: no service): the document, versions, a stale edit refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from subtitler.engine import journal as resume_state
from subtitler.engine.journal import InputState, TargetProgress
from subtitler.layout.cues import Cue, CueText
from subtitler.options import make_options
from subtitler.qwenmt.protocol import Translated, TranslationRequest
from subtitler.review.session import Conflict, Files, Session
from subtitler.tracks.durable import DiskWriter


class StandIn:
    def __init__(self) -> None:
        self.asked: list[TranslationRequest] = []

    async def translate(self, request: TranslationRequest) -> Translated:
        self.asked.append(request)
        return Translated(text=f"<{request.target}> {request.text}", input_tokens=1,
                          output_tokens=1)  # fmt: skip


def written(folder: Path) -> Files:
    media = folder / "talk.mp4"
    media.write_bytes(b"not media: the session never decodes it")
    state = InputState("talk.mp4", {"source_language": "zh"}, {})
    for target, words in (("en", ("One", "Two")), ("es", ("Uno", "Dos"))):
        pairs = enumerate(zip(("一", "二"), words, strict=True), start=1)
        cues = [
            Cue(1000 * i, 1000 * i + 800, (CueText("zh", (zh,)), CueText(target, (w,))))
            for i, (zh, w) in pairs
        ]
        state.targets[target] = TargetProgress(cues=cues, finished=True)
    files = Files.of(media)
    lines = [state.header()]
    for target, progress in state.targets.items():
        lines += [resume_state.update_line(target, 0, None, (cue,)) for cue in progress.cues]
        lines.append(f'{{"finished": "{target}"}}')
    files.state.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return files


def test_a_stale_base_version_is_refused_and_the_first_edit_survives(tmp_path: Path) -> None:
    async def scenario() -> None:
        files = written(tmp_path)
        translator = StandIn()
        disk = DiskWriter()
        made = dict(
            options=make_options(("en",), api_key="unused"),
            translator=lambda: translator,
            disk=disk,
        )
        first = Session(files, name="talk.mp4", **made)  # type: ignore[arg-type]
        second = Session(files, name="talk.mp4", **made)  # type: ignore[arg-type]
        await first.load()
        await second.load()
        await first.edit(0, {"op": "source", "cue": "c1", "lines": ["一一"]})
        assert [r.target for r in translator.asked] == ["en", "es"]
        with pytest.raises(Conflict, match=r"version 1: source of cue c1"):
            await second.edit(0, {"op": "delete", "cue": "c1"})
        assert second.version == 1  # it read the other's edit
        third = Session(files, name="talk.mp4", **made)  # type: ignore[arg-type]
        await third.load()
        (cue, _) = third.cues
        assert cue.source == ("一一",) and cue.translation("es").lines == ("<es> 一一",)
        document = third.document("talk.mp4")
        assert document["version"] == 1 and document["can_undo"] and not document["can_redo"]
        disk.close()

    asyncio.run(scenario())
