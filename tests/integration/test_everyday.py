"""The everyday command line, through the real CLI against the emulator: adding to finished
tracks, an endpoint that is not there, a folder with no media, the dashboard and the preview
in a pseudo-terminal (rendered by pyte, a terminal emulator, at 80x24 and 100x30), Ctrl-C and
resume, `watch`'s last pass, `check` and `run --help`."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pexpect
import pyte
import pytest

from subtitler.emulator.server import BackgroundEmulator
from subtitler.engine import journal as resume_state
from tests import harness
from tests.integration.test_run import ROOT, run_cli
from tests.support import FIXTURES

NEWS_SENTENCES = 5
"""zh_news.mp4's sentences in the emulator's script."""


def run_tasks(emulator: BackgroundEmulator) -> int:
    return len(emulator.server.stats.run_task_messages)


# -- tracks planned per (target, format, layout) ---------------------------------------------


def test_a_new_target_runs_one_task_and_a_new_format_or_layout_none(
    emulator: BackgroundEmulator, tmp_path: Path, client: str
) -> None:
    media = tmp_path / "x.mp4"
    shutil.copy(FIXTURES / "zh_news.mp4", media)
    common = ("--speed", "max", "--endpoint", emulator.url, "-s", "zh", "--client", client)
    first = run_cli("run", media, "-t", "en", *common)
    assert first.returncode == 0, first.stderr
    english = (tmp_path / "x.zh-en.srt").read_bytes()

    before = run_tasks(emulator)
    added = run_cli("run", media, "-t", "en,ja", *common)
    assert added.returncode == 0, added.stderr
    sent = emulator.server.stats.run_task_messages[before:]
    assert len(sent) == 1, "only the new target's task"
    assert sent[0]["payload"]["parameters"]["translation_target_languages"] == ["ja"]
    # The en journal holds the whole transcript: the ja task only translates, its cues take
    # the Chinese lines from the journal.
    assert sent[0]["payload"]["parameters"]["transcription_enabled"] is False
    journal = resume_state.load(tmp_path / ".x.subtitler-state.jsonl")
    assert journal is not None
    by_target = {
        target: "".join(line for cue in journal.targets[target].cues for line in cue.texts[0].lines)
        for target in ("en", "ja")
    }
    assert by_target["ja"] == by_target["en"] != ""
    assert (tmp_path / "x.zh-en.srt").read_bytes() == english, "what exists is kept"

    before = run_tasks(emulator)
    formats = run_cli("run", media, "-t", "en,ja", "--format", "srt,vtt,ass", *common)
    layout = run_cli("run", media, "-t", "en,ja", "--layout", "both", *common)
    assert (formats.returncode, layout.returncode) == (0, 0), formats.stderr + layout.stderr
    assert run_tasks(emulator) == before, "rendered from the journal: no service call"
    for name in ("x.zh-en.ass", "x.zh-ja.ass", "x.zh.srt", "x.en.vtt", "x.ja.srt"):
        assert (tmp_path / name).exists(), name
    assert "rendered from the journal" in formats.stdout
    rendered = [p for p in tmp_path.glob("x.*.*[st]") if "ja" not in p.name]  # ja: 4 cps
    checked = run_cli("check", *rendered)
    assert checked.returncode == 0, checked.stdout
    assert f"0 violations in {len(rendered)} files" in checked.stdout

    again = run_cli("run", media, "-t", "en,ja", "--format", "srt,vtt,ass", *common)
    assert "[x.mp4] Skipped: tracks exist (x.zh-en.srt)" in again.stdout
    assert run_tasks(emulator) == before


def test_a_replaced_source_is_not_rendered_from_the_old_journal(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    media = tmp_path / "x.mp3"
    shutil.copy(FIXTURES / "zh_news.mp4", media)
    common = ("--speed", "max", "--endpoint", emulator.url, "-s", "zh", "-t", "en")
    assert run_cli("run", media, *common).returncode == 0
    shutil.copy(FIXTURES / "zh_podcast.mp3", media)  # another recording, same name
    for track in tmp_path.glob("x.zh-en.*"):
        track.unlink()
    before = run_tasks(emulator)
    redone = run_cli("run", media, *common)
    assert redone.returncode == 0, redone.stderr
    assert run_tasks(emulator) == before + 1, "the stale journal is not used"
    assert "大家好" in (tmp_path / "x.zh-en.srt").read_text(encoding="utf-8")


# -- run-level errors ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def library(tmp_path: Path, count: int) -> Path:
    folder = tmp_path / "lib"
    folder.mkdir()
    for index in range(count):
        shutil.copy(FIXTURES / "zh_podcast.mp3", folder / f"ep{index}.mp3")
    return folder


def test_an_endpoint_with_nothing_listening_stops_the_run_at_once(
    tmp_path: Path, client: str
) -> None:
    folder = library(tmp_path, 4)
    url = f"ws://127.0.0.1:{free_port()}/api-ws/v1/inference"
    result = run_cli(
        "run", folder, "-t", "en", "--endpoint", url, "--client", client, "--jobs", "2",
        env={"DASHSCOPE_API_KEY": "sk-test"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("subtitler:")]
    assert len(lines) == 1 and "cannot connect" in lines[0] and "--endpoint" in lines[0], lines
    assert "[Metric]" not in result.stdout, "no request id for a task that never ran"
    assert not list(folder.glob("*.srt"))


def test_an_endpoint_without_the_service_path_names_the_path(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    folder = library(tmp_path, 3)
    root = emulator.url.split("/api-ws")[0]  # ws://127.0.0.1:PORT
    result = run_cli("run", folder, "-t", "en", "--endpoint", root)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("subtitler:")]
    assert len(lines) == 1 and "404" in lines[0], lines
    assert f"--endpoint {root}/api-ws/v1/inference" in lines[0]
    assert "[Metric]" not in result.stdout


def test_a_folder_with_no_media_is_an_error_naming_it(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    empty = tmp_path / "unmounted share"
    empty.mkdir()
    (empty / "readme.txt").write_text("no media here")
    result = run_cli("run", empty, "-t", "en", "--endpoint", emulator.url)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("subtitler:")]
    assert lines == [f"subtitler: {empty}: no media files in this folder"]


# -- the terminal views, in a pseudo-terminal -------------------------------------------------


@dataclass
class Terminal:
    """A child process on a pseudo-terminal, its output rendered by pyte."""

    columns: int
    rows: int
    screens: list[list[str]] = field(default_factory=list)
    """The display after each chunk of output."""
    status: int | None = None

    def run(
        self,
        arguments: list[str],
        on_screen: Callable[[list[str], pexpect.spawn], None] | None = None,
    ) -> list[str]:
        screen = pyte.Screen(self.columns, self.rows)
        stream = pyte.ByteStream(screen)
        environment = harness.environment(COLUMNS=None, LINES=None, TERM="xterm-256color")
        child = harness.spawn(
            *arguments, env=environment, rows=self.rows, columns=self.columns, encoding=None
        )
        while True:
            try:
                chunk = child.read_nonblocking(65536, timeout=120)
            except pexpect.EOF:
                break
            stream.feed(chunk)
            display = [line.rstrip() for line in screen.display]
            self.screens.append(display)
            if on_screen is not None:
                on_screen(display, child)
        child.close()
        self.status = child.exitstatus if child.exitstatus is not None else -child.signalstatus
        return self.screens[-1] if self.screens else []


SIZES = [(80, 24), (100, 30)]
FOOTER = re.compile(
    r"^running \d+  queued \d+  done \d+  failed \d+  skipped \d+  interrupted \d+$"
)


@pytest.mark.parametrize(("columns", "rows"), SIZES, ids=["80x24", "100x30"])
def test_the_dashboard_at_common_sizes(
    emulator: BackgroundEmulator, tmp_path: Path, columns: int, rows: int
) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    for name in ("first news report.mp4", "second.mp4"):
        shutil.copy(FIXTURES / "zh_news.mp4", folder / name)
    (folder / "empty.mp4").write_bytes(b"")
    terminal = Terminal(columns, rows)
    final = terminal.run(
        ["run", str(folder), "-s", "zh", "-t", "en", "--speed", "8", "--jobs", "2",
         "--no-preview", "--endpoint", emulator.url]
    )  # fmt: skip
    assert terminal.status == 1  # empty.mp4 failed
    both_languages = False
    for display in terminal.screens:
        footers = [line for line in display if line.startswith("running ")]
        for line in footers:
            assert FOOTER.match(line), line  # never spliced with a message
            done, failed = (int(n) for n in re.findall(r"(?:done|failed) (\d+)", line))
            assert done + failed <= 3
        for line in display:
            assert "subtitler:" not in line or line.startswith("subtitler:"), line
            if re.search(r"[\u4e00-\u9fff].* → .*[A-Za-z]{3}", line):
                both_languages = True
    assert both_languages, "the latest line shows the transcript and its translation"
    text = "\n".join(final)
    assert text.count("failed empty.mp4: empty file (0 bytes)") == 1, text
    assert "2 done, 1 failed, 0 skipped, 0 interrupted" in text
    assert len([line for line in final if "second.mp4" in line]) == 1, "a row, not wrapped"
    assert any("first news" in line for line in final)
    assert "request id" not in text, "ids are dropped below 110 columns"
    table = [line for line in final if line and line[0] in "┏┃┡│└"]
    assert len(table) <= 3 + 3 + 2, "the summary takes a line per file"
    assert not any(line.startswith("running ") for line in final), "no stale live rows"


@pytest.mark.parametrize(("columns", "rows"), SIZES, ids=["80x24", "100x30"])
def test_the_preview_header_stays_on_its_rows(
    emulator: BackgroundEmulator, tmp_path: Path, columns: int, rows: int
) -> None:
    media = tmp_path / "a rather long name for a news clip.mp4"
    shutil.copy(FIXTURES / "zh_news.mp4", media)
    terminal = Terminal(columns, rows)
    terminal.run(
        ["run", str(media), "-s", "zh", "-t", "en", "--speed", "8", "--endpoint", emulator.url]
    )
    assert terminal.status == 0
    previews = [d for d in terminal.screens if any(" → en" in line for line in d[:1])]
    assert previews, "the preview was drawn"
    assert any(display[0].startswith("a rather long name") for display in previews)
    for display in previews:
        # Drawn before the input started (its ffmpeg still listing it: a system ffmpeg starts
        # slower than the bundled one), the title has no name yet; it is one row all the same.
        assert display[0].startswith("a rather long name") or display[0] == " → en", display[:3]
        assert display[1].startswith("media "), display[:3]  # the figures: one row
        assert not any(line.lstrip().startswith(("latency", "first result")) for line in display)
    assert any("Thank you for watching" in line for d in previews for line in d)


def test_ctrl_c_says_interrupted_and_the_rerun_says_resumed(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(FIXTURES / "zh_news.mp4", folder / name)
    interrupted: list[bool] = []

    def interrupt_after_a_cue(display: list[str], child: pexpect.spawn) -> None:
        if not interrupted and any(" → " in line for line in display):
            interrupted.append(True)
            child.sendintr()

    terminal = Terminal(100, 30)
    final = terminal.run(
        ["run", str(folder), "-s", "zh", "-t", "en", "--speed", "4", "--jobs", "2",
         "--no-preview", "--endpoint", emulator.url],
        interrupt_after_a_cue,
    )  # fmt: skip
    assert interrupted and terminal.status == 130
    text = "\n".join(final)
    assert re.search(r"a\.mp4 +│ interrupted", text) and re.search(r"b\.mp4 +│ interrupted", text)
    assert "run again to resume" in text
    assert "0 failed" in text and "2 interrupted" in text

    rerun = run_cli("run", folder, "-s", "zh", "-t", "en", "--speed", "max", "--json",
                    "--endpoint", emulator.url)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    events = [json.loads(line) for line in rerun.stdout.splitlines()]
    finished = [e for e in events if e["event"] == "finished"]
    assert len(finished) == 2
    assert all(event["resumed_at_ms"] is not None for event in finished)
    assert any(event["resumed_at_ms"] > 0 for event in finished), "taken up where it stopped"
    assert all(event["sentences"] == NEWS_SENTENCES for event in finished), "both runs'"


# -- watch ----------------------------------------------------------------------------------------


def test_watch_stops_with_0_and_reports_its_last_pass(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    shutil.copy(FIXTURES / "zh_podcast.mp3", folder / "first.mp3")
    environment = harness.environment()
    process = subprocess.Popen(
        harness.command("watch", str(folder), "-s", "zh", "-t", "en",
         "--speed", "max", "--settle", "0.2", "--poll", "0.2", "--json",
         "--endpoint", emulator.url),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    finished: list[str] = []
    for line in process.stdout:
        event = json.loads(line)
        if event["event"] in ("finished", "failed", "skipped"):
            finished.append(event["input"])
            if len(finished) == 1:  # the first pass is over: a new file starts the next
                shutil.copy(FIXTURES / "zh_podcast.mp3", folder / "second.mp3")
            else:
                process.send_signal(signal.SIGTERM)
        if event["event"] == "summary":
            summary = event
            break
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert [Path(name).name for name in finished] == ["first.mp3", "second.mp3"]
    assert (summary["done"], summary["failed"], summary["skipped"]) == (1, 0, 0)
    journal = resume_state.load(folder / ".second.subtitler-state.jsonl")
    assert journal is not None and not journal.unfinished


# -- check and help --------------------------------------------------------------------------------


def test_check_counts_unreadable_files_and_gives_line_numbers(tmp_path: Path) -> None:
    junk = tmp_path / "junk.srt"
    junk.write_text("not a subtitle\nat all\n", encoding="utf-8")
    broken = tmp_path / "overlap.srt"
    broken.write_text(
        "1\n00:00:01,000 --> 00:00:03,000\nOne.\n\n2\n00:00:02,000 --> 00:00:04,000\nTwo.\n",
        encoding="utf-8",
    )
    result = run_cli("check", junk, tmp_path / "missing.srt", broken)
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert errors == [
        f"{junk}: not a valid subtitle file (line 1 is not an SRT cue)",
        f"{tmp_path / 'missing.srt'}: no such file",
    ]
    assert f"{broken}:2: 00:00:01,000: cue 1: overlap: 1000 > 0" in result.stdout
    assert result.stdout.rstrip().endswith(
        "1 violations in 3 files (2 cues checked); 2 not readable"
    )
    helped = run_cli("check", "--help").stdout
    assert "SRT, VTT, ASS/SSA, TTML and SCC" in helped and "--merge-gap" not in helped


def test_run_help_is_grouped_with_examples() -> None:
    helped = run_cli("run", "--help").stdout
    titles = ["\ninputs and languages:\n", "\noutput:\n", "\nlive:\n", "\nservice:\n"]
    titles.append("\nsubtitle rules (")
    places = [helped.find(title) for title in titles]
    assert -1 not in places and places == sorted(places), places
    assert "examples:" in helped and "exit status:" in helped
    options = helped[helped.index("\noptions:") :]  # after the usage lines
    assert options.index("--target") < options.index("--format") < options.index("--endpoint")


def test_watch_on_a_terminal_prints_messages_above_its_counters_and_stops_with_0(
    emulator: BackgroundEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    shutil.copy(FIXTURES / "zh_podcast.mp3", folder / "good.mp3")
    (folder / "empty.mp4").write_bytes(b"")
    stopped: list[bool] = []

    def stop_when_both_ended(display: list[str], child: pexpect.spawn) -> None:
        footer = next((line for line in display if line.startswith("running ")), "")
        if not stopped and "done 1" in footer and "failed 1" in footer:
            stopped.append(True)
            child.kill(signal.SIGTERM)

    terminal = Terminal(80, 24)
    final = terminal.run(
        ["watch", str(folder), "-s", "zh", "-t", "en", "--speed", "max", "--settle", "0.2",
         "--endpoint", emulator.url],
        stop_when_both_ended,
    )  # fmt: skip
    assert stopped and terminal.status == 0
    for display in terminal.screens:
        for line in display:
            if line.startswith("running "):
                assert FOOTER.match(line), line
                counts = [int(n) for n in re.findall(r"(?:done|failed|skipped) (\d+)", line)]
                assert sum(counts) <= 2, line  # two files, each counted once
            assert "subtitler:" not in line or line.startswith("subtitler:"), line
    text = "\n".join(final)
    assert text.count("failed empty.mp4: empty file (0 bytes)") == 1, text
    assert "1 done, 1 failed, 0 skipped, 0 interrupted" in text
