"""Shared fixtures: a local Gummy emulator per test session, and fresh ones for fault modes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from subtitler.emulator.config import EmulatorConfig
from subtitler.emulator.server import BackgroundEmulator


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
