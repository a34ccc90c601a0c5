"""`--path-map` and the `--library` fence, on values and a real folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from subtitler.errors import UsageError
from subtitler.serve.fence import Libraries, map_path, parse_path_map


def test_a_mapping_takes_whole_components_and_the_longest_wins() -> None:
    maps = (parse_path_map("/media=/srv/media"), parse_path_map("/media/tv=/mnt/tv"))
    assert map_path("/media/films/a.mkv", maps) == "/srv/media/films/a.mkv"
    assert map_path("/media/tv/s01/e1.mkv", maps) == "/mnt/tv/s01/e1.mkv"
    assert map_path("/media2/a.mkv", maps) == "/media2/a.mkv"  # not under /media
    assert map_path("/media", maps) == "/srv/media"


def test_a_windows_servers_paths_map_without_case_and_with_either_slash() -> None:
    maps = (parse_path_map("D:\\Movies=/srv/movies"),)
    mapped = map_path("d:\\movies\\Alien (1979)\\Alien.mkv", maps)
    assert mapped == "/srv/movies/Alien (1979)/Alien.mkv"
    assert map_path("D:/Movies/x.mkv", maps) == "/srv/movies/x.mkv"
    assert map_path("E:\\Movies\\x.mkv", maps) == "E:\\Movies\\x.mkv"


@pytest.mark.parametrize("spec", ["/media", "=/srv", "/media=", ""])
def test_a_bad_mapping_is_a_usage_error(spec: str) -> None:
    with pytest.raises(UsageError, match="--path-map"):
        parse_path_map(spec)


def test_the_fence_resolves_links_and_dot_dots(tmp_path: Path) -> None:
    library, outside = tmp_path / "library", tmp_path / "outside"
    library.mkdir()
    outside.mkdir()
    (library / "out").symlink_to(outside)
    fence = Libraries.of([library])
    assert fence.contains(library / "a.mkv") and fence.contains(library)
    assert not fence.contains(library / "out" / "a.mkv")
    assert not fence.contains(library / ".." / "outside" / "a.mkv")
    assert not fence.contains(tmp_path / "library2" / "a.mkv")
    with pytest.raises(UsageError, match="not a folder"):
        Libraries.of([tmp_path / "missing"])
