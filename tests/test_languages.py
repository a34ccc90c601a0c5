"""The documented Gummy language pairs."""

from __future__ import annotations

import pytest

from subtitler.errors import UsageError
from subtitler.languages import check_pairs, parse_targets


def test_targets_are_parsed_in_order_without_repeats() -> None:
    assert parse_targets(" EN, ja,en ,") == ("en", "ja")
    with pytest.raises(UsageError):
        parse_targets(" , ")


@pytest.mark.parametrize(
    ("source", "targets"),
    [("zh", ("en", "ja", "ko")), ("en", ("zh",)), ("fr", ("zh", "en")), (None, ("en", "ko"))],
)
def test_documented_pairs_pass(source: str | None, targets: tuple[str, ...]) -> None:
    check_pairs(source, targets)


@pytest.mark.parametrize(
    ("source", "targets"),
    [("ja", ("ko",)), ("zh", ("zh",)), ("de", ("fr",)), (None, ("xx",)), ("tlh", ("en",))],
)
def test_undocumented_pairs_are_usage_errors(source: str | None, targets: tuple[str, ...]) -> None:
    with pytest.raises(UsageError):
        check_pairs(source, targets)
