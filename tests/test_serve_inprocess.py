"""`serve`'s HTTP edge in this process (aiohttp's test server) over the engine on the fake
transport and the fake decoder (tests/fakes.py): Bazarr's `/asr`, `/subtitles`, the bearer token
and a failure's one-line answer. The real command, with Bazarr's exact requests against the
emulator, is tested in tests/integration/test_service.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer

from subtitler.options import make_options
from subtitler.serve.app import AsrService
from subtitler.sources.media import BYTES_PER_MS
from tests.fakes import FakeService, Fault, line_at

KEY = "sk-fake-serve-0123456789"
PCM_9_S = b"\0" * 9_000 * BYTES_PER_MS
"""Raw 16 kHz mono PCM (`encode=false`): no ffmpeg between the upload and the engine."""


def upload(pcm: bytes = PCM_9_S, name: str = "Episode 1.mkv") -> FormData:
    form = FormData()
    form.add_field("audio_file", pcm, filename=name, content_type="application/octet-stream")
    return form


def serving(
    check: Callable[[TestClient[Any, Any]], Awaitable[None]], token: str | None = None
) -> list[str]:
    """`check` run against an AsrService on an ephemeral port; the service's log lines."""
    log: list[str] = []

    async def main() -> None:
        options = make_options(["en"], api_key=KEY, speed=None, retry_delay_s=0.001)
        service = AsrService(options, token=token, log=log.append)
        await service.start()
        try:
            async with TestClient(TestServer(service.application())) as client:
                await check(client)
        finally:
            await service.stop()

    asyncio.run(main())
    return log


def test_asr_translate_answers_bazarr_with_the_english_srt(fake_service: FakeService) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.post(
            "/asr?task=translate&language=zh&output=srt&encode=false", data=upload()
        )
        assert response.status == 200, await response.text()
        body = await response.text()
        assert [line for line in body.splitlines() if line.startswith("Line ")] == [
            line_at(begin)[1] for begin in (300, 3300, 6300)
        ]
        assert "00:00:00,300 --> 00:00:02,500" in body
        assert response.headers["Content-Disposition"] == 'attachment; filename="Episode%201.srt"'

    log = serving(check)
    assert any(line.startswith("POST /asr 200") for line in log)
    assert all(KEY not in line for line in log)


def test_subtitles_answers_the_bilingual_vtt(fake_service: FakeService) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.post(
            "/subtitles?target=en&source=zh&format=vtt&encode=false", data=upload()
        )
        assert response.status == 200, await response.text()
        body = await response.text()
        assert body.startswith("WEBVTT")
        transcript, translation = line_at(3300)
        assert transcript in body and translation in body

    serving(check)


def test_a_token_is_required_when_set(fake_service: FakeService) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        refused = await client.post("/asr?encode=false&language=zh", data=upload())
        assert refused.status == 401
        wrong = await client.post(
            "/asr?encode=false&language=zh", data=upload(), headers={"Authorization": "Bearer x"}
        )
        assert wrong.status == 401
        taken = await client.post(
            "/asr?encode=false&language=zh",
            data=upload(),
            headers={"Authorization": "Bearer the-token"},
        )
        assert taken.status == 200, await taken.text()
        assert fake_service.tasks, "only the authorised request reached the service"

    serving(check, token="the-token")


def test_a_refused_key_is_a_502_with_one_line_and_no_secret(fake_service: FakeService) -> None:
    fake_service.faults.append(
        Fault(code="InvalidApiKey", message="Invalid API-key provided.", after_sentences=0)
    )

    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.post(
            "/asr?task=translate&language=zh&encode=false", data=upload(name="secret plans.wav")
        )
        assert response.status == 502
        detail = (await response.json())["detail"]
        assert "key" in detail and "\n" not in detail and KEY not in detail
        assert "subtitler-serve-" not in detail, "names the upload, not the server's temp file"

    serving(check)


def test_raw_pcm_of_odd_length_is_refused_before_any_work(fake_service: FakeService) -> None:
    async def check(client: TestClient[Any, Any]) -> None:
        response = await client.post("/asr?encode=false", data=upload(pcm=b"\0" * 3))
        assert response.status == 400
        assert "16-bit" in (await response.json())["detail"]

    serving(check)
    assert fake_service.tasks == []
