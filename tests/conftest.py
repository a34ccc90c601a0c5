"""Shared fixtures: a local Gummy emulator per test session, and fresh ones for fault modes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from subtitler.emulator.protocol import EmulatorConfig
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
