"""Glossaries end to end, on both clients: the real command against the emulator's
customization API (the same port as its WebSocket, as on the service's host)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pysrt
import pytest

from subtitler.emulator.server import BackgroundEmulator
from subtitler.gummy.client import ClientKind
from subtitler.gummy.glossary import read_glossary
from subtitler.gummy.protocol import FUN_ASR_MODEL
from subtitler.gummy.vocabulary import ensure_vocabulary, vocabularies_for
from tests.integration.test_run import run_cli
from tests.support import FIXTURES, TEST_KEY

GLOSSARY = (
    "text,weight,lang,target_lang,translation\n"
    "语音翻译模型,4,zh,en,SpeechBridge\n"
    "科技新闻,5,zh,ja,テックニュース\n"
    "字幕,,zh,,\n"
)


def news_and_glossary(folder: Path, glossary_text: str = GLOSSARY) -> tuple[Path, Path]:
    """A copy of the Mandarin news fixture (whose speech holds the glossary's terms) and a
    glossary file beside it."""
    media = folder / "news.mp4"
    shutil.copy(FIXTURES / "zh_news.mp4", media)
    glossary = folder / ("terms.csv" if glossary_text == GLOSSARY else "bad terms.csv")
    glossary.write_text(glossary_text, encoding="utf-8")
    return media, glossary


def test_a_glossary_run_twice_makes_one_vocabulary_its_tasks_carry_and_pins_terms(
    tmp_path: Path, make_emulator: Callable[..., BackgroundEmulator], client: str
) -> None:
    emulator = make_emulator()
    media, glossary = news_and_glossary(tmp_path)
    common = ("-s", "zh", "--speed", "max", "--glossary", glossary, "--endpoint", emulator.url,
              "--client", client)  # fmt: skip
    first = run_cli("run", media, "-t", "en,ja", *common)
    assert first.returncode == 0, first.stderr
    second = run_cli("run", media, "-t", "en", "--overwrite", *common)
    assert second.returncode == 0, second.stderr
    (vocabulary_id,) = emulator.server.vocabularies.vocabularies
    assert f"created vocabulary {vocabulary_id}" in first.stderr
    assert f"reusing vocabulary (same content) {vocabulary_id}" in second.stderr
    run_tasks = emulator.server.stats.run_task_messages
    assert len(run_tasks) == 3
    assert all(m["payload"]["parameters"]["vocabulary_id"] == vocabulary_id for m in run_tasks)
    english = [item.text for item in pysrt.open(str(tmp_path / "news.zh-en.srt"))]
    japanese = [item.text for item in pysrt.open(str(tmp_path / "news.zh-ja.srt"))]
    assert "SpeechBridge" in " ".join(english).replace("\n", " ")
    assert "speech translation model" not in " ".join(english).replace("\n", " ")
    assert "technology news" in " ".join(english).replace("\n", " "), "pinned for ja only"
    assert "テックニュース" in "".join(japanese).replace("\n", "")
    listed = run_cli("vocabulary", "list", "--endpoint", emulator.url, "--client", client)
    assert listed.returncode == 0 and listed.stdout.split("\t")[0] == vocabulary_id
    shown = run_cli("vocabulary", "show", vocabulary_id, "--endpoint", emulator.url)
    assert shown.stdout == GLOSSARY.replace("字幕,,zh,,", "字幕,4,zh,,")


def test_a_glossary_that_breaks_limits_fails_before_any_call_one_line_per_problem(
    tmp_path: Path, make_emulator: Callable[..., BackgroundEmulator], client: str
) -> None:
    emulator = make_emulator()
    media, glossary = news_and_glossary(
        tmp_path,
        "text,weight,lang,target_lang,translation\n"
        "语音翻译模型,9,zh,en,SpeechBridge\n"  # row 2: weight
        "这是一个超过十五个字符的非常长的热词术语,4,zh,,\n"  # row 3: 20 characters
        "one two three four five six seven eight,4,en,,\n"  # row 4: 8 words
        "\n"  # a blank row is skipped, yet counted
        "科技新闻,4,zh,xx,Tech\n"  # row 6: not a target
        "字幕,4,zh,en,\n",  # row 7: a target without a translation
    )
    result = run_cli(
        "run", media, "-s", "zh", "-t", "en", "--glossary", glossary, "--endpoint",
        emulator.url, "--client", client,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split(": row ")[1].split(":")[0] for line in lines] == ["2", "3", "4", "6", "7"]
    assert all(line.startswith(f"subtitler: error: {glossary}: row ") for line in lines)
    assert "weight '9' is not an integer 1-5" in lines[0]
    assert "20 characters" in lines[1] and "8 words" in lines[2]
    assert "'xx' is not a language Gummy or Qwen-MT translates into" in lines[3]
    assert "target_lang and translation go together" in lines[4]
    assert emulator.server.stats.customization_actions == []
    assert emulator.server.stats.run_task_messages == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad terms.csv", "news.mp4"]


def test_an_eleventh_vocabulary_gets_the_service_refusal_in_one_line_and_no_run(
    tmp_path: Path, make_emulator: Callable[..., BackgroundEmulator], client: str
) -> None:
    emulator = make_emulator()
    for number in range(10):  # the account is full (other models' vocabularies count too)
        entries = [{"text": f"term{number}", "weight": 4}]
        created = {"action": "create_vocabulary", "target_model": "paraformer-realtime-v2",
                   "prefix": "other", "vocabulary": entries}  # fmt: skip
        status, _ = emulator.server.vocabularies.answer(
            {"model": "speech-biasing", "input": created}
        )
        assert status == 200
    media, glossary = news_and_glossary(tmp_path)
    result = run_cli(
        "run", media, "-s", "zh", "-t", "en", "--glossary", glossary, "--endpoint",
        emulator.url, "--client", client,
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"subtitler: error: --glossary {glossary}: the service refused")
    assert "VocabularyQuotaExceeded" in line and "(10)" in line
    assert emulator.server.stats.run_task_messages == []
    assert not list(tmp_path.glob("news.*.srt"))
    assert len(emulator.server.vocabularies.vocabularies) == 10


def test_vocabulary_create_reuses_same_content_and_delete_removes_it(
    tmp_path: Path, make_emulator: Callable[..., BackgroundEmulator]
) -> None:
    """The management commands (the SDK's create, list and query are exercised by the run
    tests above on both clients)."""
    emulator = make_emulator()
    service = ("--endpoint", emulator.url)
    glossary = tmp_path / "terms.csv"
    glossary.write_text(GLOSSARY, encoding="utf-8")
    reordered = tmp_path / "reordered.csv"  # the same terms in another order and spelling
    lines = GLOSSARY.splitlines()
    reordered.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n", encoding="utf-8")
    first = run_cli("vocabulary", "create", glossary, *service)
    again = run_cli("vocabulary", "create", reordered, *service)
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert first.stdout == again.stdout and "reusing" in again.stderr
    vocabulary_id = first.stdout.strip()
    bad_prefix = run_cli("vocabulary", "create", glossary, "--prefix", "Has-Caps", *service)
    assert bad_prefix.returncode == 2 and "prefix 'Has-Caps'" in bad_prefix.stderr
    deleted = run_cli("vocabulary", "delete", vocabulary_id, *service)
    assert deleted.returncode == 0 and deleted.stdout.strip() == f"deleted {vocabulary_id}"
    listed = run_cli("vocabulary", "list", "--json", *service)
    assert json.loads(listed.stdout) == []
    missing = run_cli("vocabulary", "show", vocabulary_id, *service)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "VocabularyNotFound" in missing.stderr


def test_the_emulator_reads_requests_however_they_arrive(
    make_emulator: Callable[..., BackgroundEmulator],
) -> None:
    """The first bytes decide HTTP or WebSocket even when split; chunked bodies are read."""
    import socket

    emulator = make_emulator()
    body = b'{"model": "speech-biasing", "input": {"action": "list_vocabulary"}}'
    head = (b"POST /api/v1/services/audio/asr/customization HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer k\r\n")  # fmt: skip
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    for pieces in (
        [head[:2], head[2:] + b"Content-Length: %d\r\n\r\n" % len(body), body[:9], body[9:]],
        [head + b"Transfer-Encoding: chunked\r\n\r\n", chunked[:7], chunked[7:]],
    ):
        with socket.create_connection(("127.0.0.1", emulator.server.port)) as connection:
            for piece in pieces:
                connection.sendall(piece)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 200 OK", answer
        assert json.loads(rest.partition(b"\r\n\r\n")[2])["output"] == {"vocabulary_list": []}
    assert emulator.server.stats.customization_actions == ["list_vocabulary"] * 2


def test_vocabulary_list_takes_json_before_or_after_and_counts_in_words(
    tmp_path: Path, make_emulator: Callable[..., BackgroundEmulator]
) -> None:
    emulator = make_emulator()
    service = ("--endpoint", emulator.url)
    glossary = tmp_path / "terms.csv"
    glossary.write_text(GLOSSARY, encoding="utf-8")
    created = run_cli("vocabulary", "create", glossary, *service)
    assert created.returncode == 0, created.stderr
    before = run_cli("vocabulary", "--json", "list", *service)
    after = run_cli("vocabulary", "list", "--json", *service)
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert before.stdout == after.stdout
    (listed,) = json.loads(before.stdout)
    assert listed["vocabulary_id"] == created.stdout.strip()
    plain = run_cli("vocabulary", "list", *service)
    assert plain.returncode == 0 and plain.stdout.startswith(listed["vocabulary_id"])
    assert plain.stderr == "1 vocabulary\n"


def test_vocabulary_against_an_endpoint_that_is_not_there_is_exit_2_in_one_line(
    client: str,
) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cases = [("list", ("list",)), ("list", ("--json", "list")), ("show", ("show", "sgabc"))]
    for action, arguments in cases if client == "native" else cases[:1]:  # the SDK waits 9 s
        result = run_cli(
            "vocabulary", *arguments, "--endpoint", f"ws://127.0.0.1:{port}", "--client", client,
            env={"DASHSCOPE_API_KEY": "sk-test"},
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"subtitler: error: vocabulary {action}: ")
        assert line.endswith("check --endpoint") and result.stdout == ""


@pytest.mark.parametrize("kind", [ClientKind.NATIVE, ClientKind.SDK], ids=["native", "sdk"])
def test_one_vocabulary_per_model_each_reused_by_content(
    tmp_path: Path, make_emulator: Callable[..., BackgroundEmulator], kind: ClientKind
) -> None:
    """A Fun-ASR task gets a vocabulary made for `fun-asr-realtime`, never Gummy's: the
    service silently ignores a vocabulary of another model."""
    emulator = make_emulator()
    _media, path = news_and_glossary(tmp_path)
    glossary = read_glossary(path)
    client = vocabularies_for(kind, TEST_KEY, emulator.url)

    async def ensure_all() -> list[tuple[str, bool]]:
        return [
            await ensure_vocabulary(client, glossary, target_model=FUN_ASR_MODEL),
            await ensure_vocabulary(client, glossary),
            await ensure_vocabulary(client, glossary, target_model=FUN_ASR_MODEL),
        ]

    (fun_id, fun_created), (gummy_id, gummy_created), (again_id, again_created) = asyncio.run(
        ensure_all()
    )
    assert fun_created and gummy_created and not again_created
    assert fun_id != gummy_id and again_id == fun_id
    stored = emulator.server.vocabularies.vocabularies
    assert stored[fun_id].target_model == FUN_ASR_MODEL
    assert stored[gummy_id].target_model == "gummy-realtime-v1"
    assert all("target_lang" not in entry for entry in stored[fun_id].entries)
    assert fun_id.startswith(f"vocab-{glossary.prefix_for(FUN_ASR_MODEL)}-")
