"""Shared fixtures (a local Gummy emulator per test session, fresh ones for fault modes, the Gummy
client a test runs on) and the suite's markers, given here by path and name so the test files
stay free of bookkeeping: `slow`, `browser`, `quality` and `timing` (docs/development.md)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from subtitler.emulator.config import EmulatorConfig
from subtitler.emulator.server import BackgroundEmulator
from tests.fakes import FakeDecoder, FakeService, stand_in_gating

CLIENTS = ("native", "sdk")
TESTS = Path(__file__).resolve().parent

SLOW = (
    # Real ffmpeg, the emulator, child processes, Chromium: everything that crosses a boundary.
    "integration/",
    "reliability/",
    # Unit-folder tests that run a command or a build.
    "test_benchmark_smoke.py",
    "test_shard.py",
    "test_check.py::test_cli_lines_count_and_exit_status",
    "test_check.py::test_json_output_is_one_parseable_document",
    "test_check.py::test_chinese_and_japanese_lines_against_kinsoku",
    # Property tests with hundreds of examples (each over 5 s with --durations, under load).
    "test_tracks.py::test_a_patched_track_is_the_track_restored_from_its_cues",
    "test_frames.py::test_any_sentences_on_a_frame_grid_keep_every_boundary_and_gap",
    "test_cues.py::test_any_sentences_give_cues_within_every_limit",
    "test_scripts.py::test_all_sentences_at_once_measure_what_one_pair_measures",
    "test_phrases.py::test_lines_break_between_phrases_under_kinsoku_with_every_character_once",
    "test_phrases.py::test_cues_cut_translations_between_phrases_under_kinsoku",
    "test_naming.py::test_the_latin_model_answers_as_py3langid_restricted_to_five_languages",
)
"""Left out of the inner loop (`pytest -m "not slow"`); CI and `python -m pytest` run them."""

BROWSER = (
    "integration/test_caption_page.py",
    "integration/test_hls.py::test_hls_js",
    "integration/test_console.py",
    "integration/test_review_page.py",
)
"""Need Debian's Chromium (scripts/install-test-system-packages)."""

QUALITY = ("test_quality.py", "test_docs.py")
"""ruff, mypy and the documentation's strict build: about the code, not its behaviour."""

TIMING = (
    # They pace audio at 1x, stall a source, hold a rate or assert how soon something comes:
    # run one after another (one xdist group) rather than beside another heavy test.
    "integration/test_live.py",
    "integration/test_views_live.py",
    "integration/test_caption_page.py",
    "integration/test_everyday.py::test_the_dashboard_at_common_sizes",
    "integration/test_everyday.py::test_the_preview_header_stays_on_its_rows",
    "integration/test_everyday.py::test_ctrl_c_says_interrupted_and_the_rerun_says_resumed",
    "integration/test_everyday.py::test_watch_on_a_terminal",
    "integration/test_hls.py::test_a_live_stream_grows_its_playlists_while_it_plays",
    "integration/test_live_outputs.py::test_receivers_that_never_answer_delay_no_cue",
    "integration/test_live_outputs.py::test_the_text_file_shows_the_latest_caption",
    "integration/test_emulator_sdk.py::test_concurrency_limit_throttles_the_extra_task",
    "integration/test_emulator_sdk.py::test_latency_delays_the_first_package",
    "integration/test_emulator_sdk.py::test_no_audio_for_the_idle_timeout_fails",
    "integration/test_emulator_sdk.py::test_submissions_beyond_the_rate_are_refused",
    "reliability/test_reliability.py::test_throttling_below_jobs_backs_off",
    "reliability/test_reliability.py::test_a_live_source_that_stalls_longer",
    "reliability/test_reliability.py::test_forty_inputs_at_once_meet_the_start_limit",
)
"""Assert latency or pacing: marked `timing`, kept serial (see `pytest_collection_modifyitems`).
The other tests of `reliability/` (dozens of inputs each, faults at random points) form a
group of their own, one after another: two of them at once beside two other workers made the
SDK client's threads late enough to retry once more than the faults injected (2 runs in 4)."""


@pytest.fixture(scope="session")
def emulator() -> Iterator[BackgroundEmulator]:
    """A default emulator shared by tests that do not change its modes."""
    with BackgroundEmulator(EmulatorConfig()) as running:
        yield running


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., BackgroundEmulator]]:
    """Start an emulator with the given EmulatorConfig fields; stopped after the test."""
    started: list[BackgroundEmulator] = []

    def factory(**config: Any) -> BackgroundEmulator:
        running = BackgroundEmulator(EmulatorConfig(**config)).start()
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


@pytest.fixture(scope="module", params=CLIENTS)
def client(request: pytest.FixtureRequest) -> str:
    """The Gummy client a test runs on (`--client`): every test that takes it runs on both, this
    project's own and the dashscope SDK. Module-scoped, so a module's run per client can be
    shared by its tests (tests/integration/test_run.py's `first_run`)."""
    return str(request.param)


@pytest.fixture
def fake_service(monkeypatch: pytest.MonkeyPatch) -> FakeService:
    """The engine in this process on the fake transport and the fake decoder (tests/fakes.py):
    every input the test runs is decoded by `FakeDecoder` and heard by the returned service."""
    import subtitler.engine.context as engine_context
    from subtitler.engine.context import Transports

    service = FakeService()
    FakeDecoder.reset()
    fakes = Transports(
        decoder=FakeDecoder,
        new_client=service.new_task,
        new_translator=service.new_translator,
        gating=stand_in_gating(service),
    )
    monkeypatch.setattr(engine_context, "DEFAULT_TRANSPORTS", fakes)  # the engine's one seam
    return service


def pytest_configure(config: pytest.Config) -> None:
    """The SDK honours proxy variables (aiohttp trust_env): keep loopback off any proxy."""
    import os

    no_proxy = os.environ.get("NO_PROXY", "")
    local = "127.0.0.1,localhost,::1"
    os.environ["NO_PROXY"] = f"{no_proxy},{local}" if no_proxy else local
    os.environ["no_proxy"] = os.environ["NO_PROXY"]


def pytest_report_header() -> str:
    """Which ffmpeg the tests cross (the system's, or the bundled one: .ci/run runs both)."""
    import subprocess

    from subtitler.sources.media import ffmpeg_executable

    executable = ffmpeg_executable()
    answer = subprocess.run([executable, "-version"], capture_output=True, text=True, check=False)
    return f"ffmpeg: {executable} ({answer.stdout.partition(' Copyright')[0]})"


def _matches(where: str, prefixes: tuple[str, ...]) -> bool:
    return any(where.startswith(prefix) for prefix in prefixes)


WORKERS_PER_CORE = 2
"""`-n auto` for the whole suite: most of its time is waiting (audio played at 1x, an
emulator's delays, a stall held past the 23 s rule), not computing: two workers per core
finished it in about two thirds of the time one per core took (docs/development.md). The
inner loop (`-m "not slow"`) computes: one worker per core."""


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    cores = os.cpu_count() or 1
    computing = "not slow" in str(config.getoption("markexpr", ""))
    return cores if computing else WORKERS_PER_CORE * cores


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The markers by path and name (an explicit mark on a test works too), and the groups
    `--dist loadgroup` keeps on one worker: `timing` tests all on one, one after another; and
    the tests sharing a module-scoped fixture of their own module, per parameter, so a costly
    module fixture (a whole run, a site build) is made once, not once per worker."""
    for item in items:
        where = item.path.relative_to(TESTS).as_posix() + "::" + item.name
        for name, prefixes in (
            ("slow", SLOW),
            ("browser", BROWSER),
            ("quality", QUALITY),
            ("timing", TIMING),
        ):
            if _matches(where, prefixes):
                item.add_marker(name)
        if item.get_closest_marker("browser") or item.get_closest_marker("quality"):
            item.add_marker("slow")  # a browser, or a minute of mypy and mkdocs on a fresh clone
        if item.get_closest_marker("xdist_group") is not None:
            continue
        group = (
            "timing"
            if item.get_closest_marker("timing")
            else "reliability"
            if where.startswith("reliability/")
            else _module_fixture_group(item)
        )
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
            if getattr(config.option, "loadgroup", False):  # on an xdist worker
                _name_group(item, group)


def _name_group(item: pytest.Item, group: str) -> None:
    """What xdist does with `xdist_group`, done where pytest 9 keeps the node id: pytest-xdist
    3.8 appends `@group` to `item._nodeid`, which pytest 9 no longer reads (`item._id`), so
    without this every group is silently spread over the workers."""
    node_id = getattr(item, "_id", None)
    if node_id is None or str(node_id).endswith("@" + group):
        return  # pytest 8: xdist's own suffix works
    from _pytest.nodeid import coerce_node_id

    item._id = coerce_node_id(f"{item.nodeid}@{group}")


def _module_fixture_group(item: pytest.Item) -> str | None:
    """`MODULE::name=param,...` when the item's own module defines a module-scoped fixture it
    uses (the names and values: the parameters of module-scoped fixtures, so a per-client
    fixture runs on one worker per client); else None (the item goes to any worker). No
    brackets in the name: xdist reads a group only after the last `]` of a node id."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    module_id = item.nodeid.split("::", 1)[0]
    own = any(
        definition.scope == "module" and definition.baseid == module_id
        for definitions in info.name2fixturedefs.values()
        for definition in definitions
    )
    if not own:
        return None
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    scoped = [
        f"{name}={params[name]}"
        for name, definitions in info.name2fixturedefs.items()
        if name in params and definitions[-1].scope == "module"
    ]
    return "::".join([module_id, *scoped])
