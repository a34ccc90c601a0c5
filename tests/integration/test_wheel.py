"""The package a user installs: the wheel (`pip wheel --no-deps`) built from the checkout's files,
installed (not editable) into a fresh venv whose dependencies come from the test venv's
site-packages through a `.pth` (nothing downloaded; the editable checkout not importable), and
every command run from a folder outside the checkout: each `--help`, the emulator, a run with
every format, a run with every live output (YouTube and OBS receivers from
`test_live_outputs.py`), the demo. `pip install .` (what `pipx install .` does) works too."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from subtitler.outputs.captions import for_cea608
from tests.integration.test_live_outputs import (
    OBS_PASSWORD,
    STREAM_KEY,
    ObsReceiver,
    YouTubeReceiver,
    expected_captions,
    obs,  # noqa: F401 (the receivers' fixtures, taken by name with request.getfixturevalue)
    youtube,  # noqa: F401
)

ROOT = Path(__file__).resolve().parents[2]
TEST_ONLY = ("make_fixtures.py", "corrupt_truncated.mp4", "empty.mp4", "en_lecture_44k.wav",
             "no_audio.mp4", "silent.mp4", "conftest.py")  # fmt: skip
FORMATS = "srt,vtt,ass,ttml,ebu-tt-d,scc"
LIST_COMMANDS = """
import argparse, json
from subtitler.cli import build_parser

def walk(parser, path):
    yield path
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in {id(p): (name, p) for name, p in action.choices.items()}.values():
                yield from walk(sub[1], [*path, sub[0]])

print(json.dumps(list(walk(build_parser(), []))))
"""


@dataclass(frozen=True)
class Installed:
    """A venv holding the package as a user installs it, and a folder outside the checkout."""

    venv: Path
    elsewhere: Path

    def environment(self, **extra: str) -> dict[str, str]:
        """No key, no endpoint, no PYTHONPATH: only what the venv holds is importable."""
        kept = {name: value for name, value in os.environ.items()
                if name not in ("PYTHONPATH", "VIRTUAL_ENV", "DASHSCOPE_API_KEY",
                                "DASHSCOPE_WEBSOCKET_BASE_URL")}  # fmt: skip
        path = f"{self.venv / 'bin'}{os.pathsep}{kept.get('PATH', '')}"
        return {**kept, "PATH": path, "VIRTUAL_ENV": str(self.venv), **extra}

    def run(self, *args: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / "subtitler"), *map(str, args)],
            capture_output=True, text=True, cwd=self.elsewhere, env=self.environment(**env),
            timeout=300,
        )  # fmt: skip

    def python(self, code: str) -> str:
        result = subprocess.run(
            [str(self.venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
            cwd=self.elsewhere, env=self.environment(), timeout=120, check=True,
        )  # fmt: skip
        return result.stdout


def source_tree(destination: Path) -> Path:
    """The checkout's tracked and new files, as a clone holds them: a build here leaves nothing
    (no build/, no egg-info) in the checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source, copy = ROOT / name, destination / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():  # fixtures/ links to the samples
            copy.symlink_to(os.readlink(source))
        elif source.is_file():
            shutil.copy2(source, copy)
    return destination


def fresh_venv(path: Path) -> Path:
    """A new venv (no pip of its own: the test venv's installs into it) that sees the test
    venv's installed dependencies through a `.pth` (a plain path: the `.pth` files there, the
    editable install's among them, are not run)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True,
                   timeout=300)  # fmt: skip
    site = next((path / "lib").glob("python3*/site-packages"))
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "test-dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    return path


def pip(*args: str | Path) -> None:
    """The test venv's pip; `--python VENV/bin/python` installs into another venv."""
    result = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check",
                             "--quiet", *map(str, args)], capture_output=True, text=True,
                            timeout=600)  # fmt: skip
    assert result.returncode == 0, (args, result.stderr[-4000:])


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return source_tree(tmp_path_factory.mktemp("source"))


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", dist, source)  # the test venv's
    # setuptools (the test extra's): the same configuration read, nothing fetched
    return next(dist.glob("subtitler-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    venv = fresh_venv(tmp_path_factory.mktemp("venv") / "venv")
    pip("--python", venv / "bin" / "python", "install", "--no-deps", "--no-index", wheel)
    return Installed(venv, tmp_path_factory.mktemp("elsewhere"))


def test_the_installed_package_is_the_wheels_not_the_checkout(installed: Installed) -> None:
    where = Path(installed.python("import subtitler; print(subtitler.__file__)").strip())
    assert where.is_relative_to(installed.venv), where
    assert not where.is_relative_to(ROOT)
    samples = installed.python(
        "from importlib import resources; import json;"
        "print(json.dumps(sorted(p.name for p in (resources.files('subtitler') / 'samples')"
        ".iterdir())))"
    )
    assert {"zh_news.mp4", "zh_podcast.mp3", "transcripts"} <= set(json.loads(samples))


def test_the_wheel_holds_every_package_and_data_file_and_nothing_for_tests(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    listed = subprocess.run(["git", "ls-files", "-z", "subtitler"], cwd=ROOT,
                            capture_output=True, text=True, check=True)  # fmt: skip
    tracked = listed.stdout.split("\0")
    shipped = {name for name in tracked if name and not name.endswith(".md")}
    assert shipped - names == set(), "every module, page, sample and model, found not listed"
    outside = {name for name in names if not name.startswith(("subtitler/", "subtitler-"))}
    assert outside == set()
    assert [name for name in names if name.rsplit("/", 1)[-1] in TEST_ONLY] == []
    assert not any(name.startswith(("tests/", "fixtures/", "benchmarks/")) for name in names)
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "subtitler = subtitler.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_no_package_is_listed_by_hand(wheel: Path) -> None:
    packages = sorted(
        name.removesuffix("/__init__.py").replace("/", ".")
        for name in zipfile.ZipFile(wheel).namelist()
        if name.endswith("/__init__.py")
    )
    assert len(packages) >= 10, packages
    pattern = "|".join(p.replace(".", r"\.") for p in packages if p != "subtitler")
    found = subprocess.run(
        ["git", "grep", "-n", "-E", f"[\"']({pattern})[\"']", "--", "pyproject.toml",
         "setup.py", "setup.cfg", "MANIFEST.in"],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert found.stdout == "", found.stdout
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(setuptools["packages"]) == {"find"}, "packages found, not listed"
    assert subprocess.run(["git", "ls-files", "setup.py", "setup.cfg", "MANIFEST.in"], cwd=ROOT,
                          capture_output=True, text=True).stdout == ""  # fmt: skip


def test_every_command_answers_help_from_outside_the_checkout(installed: Installed) -> None:
    commands = json.loads(installed.python(LIST_COMMANDS))
    assert ["vocabulary", "list"] in commands and ["emulator"] in commands
    assert len(commands) >= 12, commands
    for command in commands:
        result = installed.run(*command, "--help")
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout.startswith(" ".join(["usage: subtitler", *command])), command
    assert installed.run("--version").returncode == 0


@pytest.fixture(scope="module")
def emulator_url(installed: Installed) -> Iterator[str]:
    """The installed `subtitler emulator`: started, its URL read from its first line; stopped
    with Ctrl-C (SIGINT) after the module, its closing line checked."""
    process = subprocess.Popen(
        [str(installed.venv / "bin" / "subtitler"), "emulator", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=installed.elsewhere,
        env=installed.environment(),
    )  # fmt: skip
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    try:
        assert url.startswith("ws://127.0.0.1:"), url
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Gummy emulator stopped: tasks" in err, err


def copy_sample(installed: Installed, name: str, folder: Path) -> Path:
    """A sample from the installed package, copied where the tracks may be written."""
    source = installed.python(
        f"from importlib import resources; print(resources.files('subtitler') / 'samples' / "
        f"{name!r})"
    ).strip()
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(source, folder / name))


def test_a_run_against_the_installed_emulator_writes_every_format(
    installed: Installed, emulator_url: str
) -> None:
    media = copy_sample(installed, "zh_news.mp4", installed.elsewhere / "formats")
    result = installed.run("run", media, "-s", "zh", "-t", "en", "--speed", "max", "--format",
                           FORMATS, "--layout", "both", "--endpoint", emulator_url)  # fmt: skip
    assert result.returncode == 0, result.stderr
    written = sorted(path.name for path in media.parent.iterdir() if path != media)
    suffixes = ("srt", "vtt", "ass", "ttml", "ebuttd.xml")
    expected = [
        f"zh_news.{langs}.{suffix}" for langs in ("en", "zh", "zh-en") for suffix in suffixes
    ]
    expected.append("zh_news.en.scc")  # SCC for the Latin-script track only (docs/formats.md)
    assert [name for name in written if not name.startswith(".")] == sorted(expected)
    checked = installed.run("check", *(media.parent / name for name in expected))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"0 violations in {len(expected)} files" in checked.stdout


def test_a_run_delivers_to_every_live_output(
    installed: Installed, emulator_url: str, request: pytest.FixtureRequest
) -> None:
    start_youtube: Callable[..., YouTubeReceiver] = request.getfixturevalue("youtube")
    start_obs: Callable[..., ObsReceiver] = request.getfixturevalue("obs")
    youtube_receiver = start_youtube(client_timeout_s=2.0)
    obs_receiver = start_obs()
    media = copy_sample(installed, "zh_news.mp4", installed.elsewhere / "live")
    text_file = media.parent / "caption.txt"
    result = installed.run(
        "run", media, "-s", "zh", "-t", "en", "--speed", "4", "--json",
        "--endpoint", emulator_url, "--text-file", text_file, "--hls", media.parent / "hls",
        "--youtube-captions",
        f"http://127.0.0.1:{youtube_receiver.port}/closedcaption?cid={STREAM_KEY}",
        "--obs-websocket", f"ws://127.0.0.1:{obs_receiver.port}",
        DASHSCOPE_API_KEY="sk-test", OBS_WEBSOCKET_PASSWORD=OBS_PASSWORD,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    captions = expected_captions(result.stdout)
    assert len(captions) >= 5
    assert youtube_receiver.violations == [] and obs_receiver.violations == []
    assert youtube_receiver.captions == ["<br>".join(lines) for lines in captions]
    assert obs_receiver.captions == [row for lines in captions for row in for_cea608(lines)]
    assert text_file.read_text(encoding="utf-8") == "", "cleared when the run ends"
    assert not list(media.parent.glob(".caption.txt.part"))
    master = (media.parent / "hls" / "master.m3u8").read_text(encoding="utf-8")
    assert "TYPE=SUBTITLES" in master
    vtt = sorted((media.parent / "hls" / "subs" / "zh-en").glob("seg*.vtt"))
    assert vtt and any("-->" in segment.read_text(encoding="utf-8") for segment in vtt)
    assert list((media.parent / "hls" / "media").glob("seg*.ts"))


def test_the_demo_runs_from_the_installed_samples(installed: Installed) -> None:
    out = installed.elsewhere / "demo"
    result = installed.run("demo", "--speed", "max", "--out-dir", out)
    assert result.returncode == 0, result.stderr
    assert "emulator" in (result.stdout + result.stderr).lower()
    srt = sorted(path.name for path in out.glob("*.srt"))
    assert len(srt) == 3 and "zh_news.zh-en.srt" in srt, srt


def test_pip_install_dot_into_a_fresh_venv_works(
    source: Path, installed: Installed, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """What `pipx install .` does: a non-editable install of the source folder."""
    venv = fresh_venv(tmp_path_factory.mktemp("pipx") / "venv")
    pip("--python", venv / "bin" / "python", "install", "--no-deps", source)
    user = Installed(venv, installed.elsewhere)
    where = Path(user.python("import subtitler; print(subtitler.__file__)").strip())
    assert where.is_relative_to(venv), where
    result = user.run("run", "--help")
    assert result.returncode == 0 and result.stdout.startswith("usage: subtitler run")
    assert "zh_news.mp4" in user.python(
        "from importlib import resources;"
        "print([p.name for p in (resources.files('subtitler') / 'samples').iterdir()])"
    )
