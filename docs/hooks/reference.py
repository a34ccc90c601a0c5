"""MkDocs hook: the parts of the site made from the code when it is built, so they cannot drift.

A page asks for one with a marker line:
- `<!-- generated: cli -->`: every subcommand's options from `subtitler.cli.build_parser()`, each
  with its help text and default (the help lives in argparse only);
- `<!-- generated: events -->`: every `--json` event and its fields from `events.schema.json`;
- `<!-- generated: benchmarks -->` and `<!-- generated: long-run -->`: the performance tables from
  `benchmarks/results.json` and `benchmarks/long_run_10h.json`, with the commands that made them.

The functions are pure (text in, Markdown out) and tested in `tests/test_docs.py`.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """MkDocs calls this for every page: markers become their generated Markdown."""
    return MARKER.sub(lambda found: GENERATORS[found.group(1)](), markdown)


# -- the command line ---------------------------------------------------------------------------


def subcommands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command, and the commands inside one (`vocabulary list`), in order."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield prefix + name, command
                yield from subcommands(command, f"{prefix}{name} ")


def options_of(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.Action]]:
    """(group title, action) for every argument but --help, in the order `--help` shows them."""
    for group in parser._action_groups:
        for action in group._group_actions:
            if isinstance(action, argparse._HelpAction):
                continue
            yield group.title or "options", action


def _names(action: argparse.Action) -> str:
    if not action.option_strings:
        shown = action.metavar or action.dest
        return f"`{shown}`" + (" ..." if action.nargs in ("*", "+") else "")
    takes_value = action.nargs != 0
    value = f" {action.metavar or action.dest.upper()}" if takes_value else ""
    return ", ".join(f"`{name}{value}`" for name in action.option_strings)


def _default(action: argparse.Action) -> str:
    default = action.default
    if action.nargs == 0 or default is None or default == [] or default is argparse.SUPPRESS:
        return ""
    if isinstance(default, Path):
        default = str(default)
    if isinstance(default, str) and not default:
        return ""
    return f"`{default}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def cli_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """One section per subcommand: its description, then a table per option group."""
    if parser is None:
        from subtitler.cli import build_parser

        parser = build_parser()
    out: list[str] = []
    for name, command in subcommands(parser):
        out += [f"## `subtitler {name}`", "", _cell(command.description or ""), ""]
        current = None
        for title, action in options_of(command):
            if title != current:
                current = title
                out += ["", f"**{title}**", "", "| option | default | meaning |", "|---|---|---|"]
            help_text = action.help or ""
            if "%(" in help_text:
                help_text = help_text % {"default": action.default}
            if action.choices and not action.option_strings:
                help_text += f" (one of {', '.join(map(str, action.choices))})"
            elif action.choices:
                help_text += f" (one of: {', '.join(f'`{c}`' for c in action.choices)})"
            out.append(f"| {_names(action)} | {_default(action)} | {_cell(help_text)} |")
        if command.epilog:
            out += ["", "```text", command.epilog.rstrip(), "```"]
        out.append("")
    return "\n".join(out)


# -- the JSON events ----------------------------------------------------------------------------


def _type_of(schema: dict[str, Any]) -> str:
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type", "")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        inner = schema["items"]
        if inner.get("type") == "object":
            return "array of objects (`" + "`, `".join(inner.get("properties", {})) + "`)"
        return f"array of {_type_of(inner)}"
    return str(kind)


def events_reference(schema: dict[str, Any] | None = None) -> str:
    """A table of fields per event, from the schema the tests validate every line against."""
    if schema is None:
        text = (ROOT / "subtitler" / "events.schema.json").read_text(encoding="utf-8")
        schema = json.loads(text)
    out: list[str] = []
    for variant in schema["oneOf"]:
        properties = variant["properties"]
        required = set(variant.get("required", ()))
        out += [f"### `{properties['event']['const']}`", ""]
        out += ["| field | type | required | meaning |", "|---|---|---|---|"]
        for field, spec in properties.items():
            if field == "event":
                continue
            meaning = _cell(spec.get("description", ""))
            mark = "yes" if field in required else ""
            out.append(f"| `{field}` | {_cell(_type_of(spec))} | {mark} | {meaning} |")
        out.append("")
    return "\n".join(out)


# -- performance --------------------------------------------------------------------------------


def _read(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "benchmarks" / name).read_text(encoding="utf-8"))
    return data


def _f(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _rounds(row: dict[str, Any]) -> str:
    return ", ".join(f"{value:.2f}" for value in row.get("cpu_s_rounds", [row["cpu_s"]]))


def benchmark_tables(results: dict[str, Any] | None = None) -> str:
    """`python -m benchmarks.run`'s figures: the ways side by side, the ratios, the scale."""
    results = results or _read("results.json")
    machine = results["machine"]
    out = [
        f"Made by `python -m benchmarks.run` ({results['files']} files of "
        f"{results['seconds_per_file']} s, {results['jobs']} at once; {machine['cores']} cores, "
        f"Python {machine['python']}), read from `benchmarks/results.json` when this site was "
        "built.",
        "",
        "| way | wall s | CPU s | CPU s / audio h | peak MB | MB / file | emulator CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    for way in ("floor", "sample", "subtitler", "subtitler_sdk"):
        row = results[way]
        out.append(
            f"| {way} | {_f(row['wall_s'])} | {_f(row['cpu_s'], 2)} | "
            f"{_f(row['cpu_s_per_audio_hour'])} | {_f(row['peak_rss_mb'])} | "
            f"{_f(row.get('peak_rss_mb_per_file'))} | {_f(row.get('emulator_cpu_s'), 2)} |"
        )
    ratios, naming, startup = results["ratios"], results["naming"], results["startup"]
    native = results["subtitler"]
    out += [
        "",
        f"- CPU s per round (the table has the medians): floor {_rounds(results['floor'])}; "
        f"subtitler {_rounds(native)}",
        f"- subtitler's CPU against the floor: **{ratios['cpu_vs_floor']:.2f}x**; the sample's "
        f"way against subtitler: **{ratios['cpu_sample_vs_subtitler']:.2f}x** the CPU and "
        f"{ratios['memory_sample_vs_subtitler']:.2f}x the memory",
        f"- peak PSS above the floor's {results['files']} decoders running at once "
        f"({_f(results['floor']['concurrent_peak_rss_mb'])} MB): "
        f"{_f(ratios['memory_above_floor_decoders_mb'])} MB",
        f"- naming the language (`-s auto` against `-s en`, English speech): "
        f"+{naming['auto_extra_cpu_s']:.3f} CPU s, +{naming['auto_extra_mb']:.1f} MB",
        f"- cue durable after its final result: p50 {native['cue_write_ms_p50']:.2f} ms, "
        f"p99 {native['cue_write_ms_p99']:.2f} ms; first package delay (median): subtitler "
        f"{_f(native['first_package_delay_ms_median'])} ms, the sample "
        f"{_f(results['sample']['first_package_delay_ms_median'])} ms",
        f"- start-up: `subtitler --help` {startup['help_cpu_s'] * 1000:.0f} ms CPU, a bare "
        f"interpreter {startup['bare_cpu_s'] * 1000:.0f} ms",
        "",
        "| files at 1x | done | wall s | max lag s | of it: start s | streaming lag s "
        "| speech end → cue p99 ms | CPU s / file | CPU share of 1 core | peak MB "
        "| subtitler process MB | emulator CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for step in results["scale"]:
        out.append(
            f"| {step['files']} | {step['files_done']} | {_f(step['wall_s'])} | "
            f"{step['lag_s_max']:.2f} | {_f(step.get('start_s_max'), 2)} | "
            f"{_f(step.get('streaming_lag_s_max'), 2)} | "
            f"{_f(step['speech_end_to_cue_ms_p99'])} | "
            f"{step['cpu_s_per_file']:.3f} | {step['cpu_share_of_realtime']:.2f} | "
            f"{_f(step['peak_rss_mb'])} | {_f(step['peak_python_mb'])} | "
            f"{_f(step['emulator_cpu_s'], 2)} |"
        )
    out += [
        "",
        '("max lag": the longest input\'s wall time, from its start, minus its audio; "start": '
        "the longest from an input's start to its `started` event, its ffmpeg having told what "
        'the input holds; "streaming lag": the longest from `started` to the last cue, minus '
        "the audio.)",
    ]
    return "\n".join(out) + "\n"


def long_run_table(run: dict[str, Any] | None = None) -> str:
    """The long run's figures per audio hour, and what became of every sentence."""
    run = run or _read("long_run_10h.json")
    out = [
        f"Made by `{run['command']}`, read from `benchmarks/long_run_{run['hours']}h.json` when "
        "this site was built.",
        "",
        "| audio hour | CPU s | sentences | write_ms p50 / p99 | loop lag ms p50 / p99 / max "
        "| RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    for hour in run["per_hour"]:
        out.append(
            f"| {hour['hour']} | {hour['cpu_s']:.2f} | {hour['sentences']} | "
            f"{hour['write_ms_p50']:.2f} / {hour['write_ms_p99']:.2f} | "
            f"{hour['loop_lag_ms_p50']:.2f} / {hour['loop_lag_ms_p99']:.2f} / "
            f"{hour['loop_lag_ms_max']:.1f} | {hour['rss_mb_max']:.1f} |"
        )
    first, last = run["per_hour"][0], run["per_hour"][-1]
    sentences = run["sentences"]
    out += [
        "",
        f"Hour {last['hour']} costs **{last['cpu_s'] / first['cpu_s']:.2f}x** hour 1; "
        f"{run['rollovers']} rollovers; sentences expected {sentences['expected']}, written "
        f"{sentences['found']}, lost {sentences['lost']}, duplicated {sentences['duplicated']}; "
        "cues per track: "
        + ", ".join(f"`{name}` {count}" for name, count in run["tracks"].items())
        + ".",
    ]
    return "\n".join(out) + "\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "cli": cli_reference,
    "events": events_reference,
    "benchmarks": benchmark_tables,
    "long-run": long_run_table,
}
