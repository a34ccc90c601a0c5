"""`subtitler emulator`: run the local service (Gummy, Fun-ASR realtime, Qwen-MT, the
customization API) until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from subtitler.errors import UsageError

if TYPE_CHECKING:  # the server and its numpy VAD are imported when the emulator runs
    from subtitler.emulator.config import EmulatorConfig

VAD_THRESHOLD_DB = -42.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="require clients to present the key held in this environment variable "
        "(any other key gets the service's invalid-key refusal); default: any key",
    )
    parser.add_argument(
        "--max-concurrent-tasks",
        type=int,
        metavar="N",
        help="more running tasks than N are refused with a throttling error",
    )
    parser.add_argument(
        "--latency-ms", type=int, default=0, metavar="MS", help="delay every result by MS"
    )
    parser.add_argument(
        "--drop-after-ms",
        type=int,
        metavar="MS",
        help="abort a task's connection after MS of its audio",
    )
    parser.add_argument(
        "--fail-after-ms",
        type=int,
        metavar="MS",
        help="fail a task (internal error) after MS of its audio",
    )
    parser.add_argument(
        "--faults-max",
        type=int,
        metavar="N",
        help="inject at most N drop/fail faults in all (default: every task)",
    )
    parser.add_argument(
        "--max-task-ms",
        type=int,
        metavar="MS",
        help="fail a task that sends more than MS of audio (a cap on task length)",
    )
    parser.add_argument(
        "--fault-seed",
        type=int,
        metavar="N",
        help="each task faults at its own seeded random point up to the --drop-after-ms / "
        "--fail-after-ms value",
    )
    parser.add_argument(
        "--split-final-translation",
        action="store_true",
        help="send each final transcription and its translation in two events",
    )
    parser.add_argument(
        "--idle-timeout-s",
        type=float,
        default=23.0,
        metavar="S",
        help="fail a task that gets no audio for S seconds (service: 23; 0: never)",
    )
    parser.add_argument(
        "--max-task-rate",
        type=float,
        default=10.0,
        metavar="N",
        help="task submissions accepted per second, like the service's per-account limit "
        "(default 10; 0: no limit)",
    )
    parser.add_argument(
        "--result-shape",
        default="split",
        metavar="SHAPE",
        help="how result sentences look: split (default), leading-space, inline-punctuation, "
        "no-punctuation-field, no-words, partial-without-words, extra-fields",
    )
    parser.add_argument(
        "--handshake-status",
        type=int,
        metavar="HTTP",
        help="refuse handshakes with this HTTP status (429, 503, ...)",
    )
    parser.add_argument(
        "--handshake-refusals",
        type=int,
        metavar="N",
        help="refuse only the first N handshakes (default: all)",
    )
    parser.add_argument(
        "--funasr-silence-cutoff-s",
        type=float,
        default=60.0,
        metavar="S",
        help="fail a Fun-ASR task without heartbeat after S seconds of continuous silent audio "
        "(service: 60; 0: never)",
    )
    parser.add_argument(
        "--mt-rpm",
        type=int,
        metavar="N",
        help="Qwen-MT requests per minute per model and key; more get 429 Throttling.RateQuota "
        "(default: no limit)",
    )
    parser.add_argument(
        "--mt-tpm",
        type=int,
        metavar="N",
        help="Qwen-MT tokens per minute per model and key; more get 429 "
        "Throttling.AllocationQuota (default: no limit)",
    )
    parser.add_argument(
        "--mt-delay-s", type=float, default=0.0, metavar="S", help="answer Qwen-MT S seconds late"
    )
    parser.add_argument(
        "--mt-throttle-burst",
        type=int,
        default=0,
        metavar="N",
        help="answer the next N Qwen-MT requests with 429 Throttling.RateQuota",
    )
    parser.add_argument(
        "--mt-internal-errors",
        type=int,
        default=0,
        metavar="N",
        help="then answer N Qwen-MT requests with 500 InternalError",
    )
    parser.add_argument(
        "--mt-slow-answers",
        type=int,
        default=0,
        metavar="N",
        help="then answer N Qwen-MT requests --mt-slow-s late",
    )
    parser.add_argument(
        "--mt-slow-s", type=float, default=6.0, metavar="S", help="how late a slow answer is"
    )
    parser.add_argument(
        "--mt-accept-codes",
        action="store_true",
        help="accept language codes (es) besides English names (Spanish) in Qwen-MT requests",
    )
    parser.add_argument(
        "--vad-threshold-db",
        type=float,
        default=VAD_THRESHOLD_DB,
        metavar="DB",
        help="frames louder than DB dBFS count as speech",
    )
    parser.add_argument(
        "--scripts",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="more transcript JSON files to recognise (repeatable)",
    )


def config_from_arguments(arguments: argparse.Namespace) -> EmulatorConfig:
    from subtitler.emulator.config import RESULT_SHAPES, EmulatorConfig
    from subtitler.emulator.vad import VadOptions

    if arguments.result_shape not in RESULT_SHAPES:
        raise UsageError("--result-shape", f"one of {', '.join(RESULT_SHAPES)}")
    if arguments.max_task_rate < 0:
        raise UsageError("--max-task-rate", "must be 0 (no limit) or more")
    api_key = None
    if arguments.api_key_env:
        api_key = os.environ.get(arguments.api_key_env)
        if not api_key:
            raise UsageError(
                "--api-key-env", f"environment variable {arguments.api_key_env} is empty"
            )
    return EmulatorConfig(
        api_key=api_key,
        max_concurrent_tasks=arguments.max_concurrent_tasks,
        latency_ms=arguments.latency_ms,
        drop_after_audio_ms=arguments.drop_after_ms,
        fail_after_audio_ms=arguments.fail_after_ms,
        faults_max=arguments.faults_max,
        fault_seed=arguments.fault_seed,
        max_task_audio_ms=arguments.max_task_ms,
        split_final_translation=arguments.split_final_translation,
        idle_timeout_s=arguments.idle_timeout_s,
        max_task_rate=arguments.max_task_rate or None,
        result_shape=arguments.result_shape,
        handshake_status=arguments.handshake_status,
        handshake_refusals=arguments.handshake_refusals,
        vad=VadOptions(threshold_db=arguments.vad_threshold_db),
        funasr_silence_cutoff_s=arguments.funasr_silence_cutoff_s,
        mt_rpm=arguments.mt_rpm,
        mt_tpm=arguments.mt_tpm,
        mt_delay_s=arguments.mt_delay_s,
        mt_throttle_burst=arguments.mt_throttle_burst,
        mt_internal_errors=arguments.mt_internal_errors,
        mt_slow_answers=arguments.mt_slow_answers,
        mt_slow_s=arguments.mt_slow_s,
        mt_accept_codes=arguments.mt_accept_codes,
    )


def run(arguments: argparse.Namespace) -> int:
    config = config_from_arguments(arguments)
    for directory in arguments.scripts:
        if not directory.is_dir():
            raise UsageError(str(directory), "--scripts needs a folder of transcript JSON files")
    return asyncio.run(_serve(config, arguments.host, arguments.port, arguments.scripts))


async def _serve(config: EmulatorConfig, host: str, port: int, scripts: list[Path]) -> int:
    from subtitler.emulator.server import EmulatorServer

    server = EmulatorServer(config, host=host, port=port, script_directories=scripts)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        url = await server.start()
    except OSError as error:
        raise UsageError(f"{host}:{port}", f"cannot listen ({error.strerror or error})") from error
    print(url, flush=True)
    print(
        f"Gummy emulator ready ({len(server.library.sentences)} known sentences); Ctrl-C stops it.",
        file=sys.stderr,
        flush=True,
    )
    await stop.wait()
    await server.stop()
    outcomes = server.stats.task_outcomes
    told = ", ".join(f"{count} {outcome}" for outcome, count in outcomes.items() if count)
    stats = server.stats
    billed = (
        f"billed {stats.recognition_s} s of recognition, {stats.translation_s} s of translation"
    )
    print(f"Gummy emulator stopped: tasks {told or 'none'}; {billed}.", file=sys.stderr, flush=True)
    return 0
