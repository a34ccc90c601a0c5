"""`subtitler vocabulary list | show ID | create FILE | delete ID`, and `--glossary FILE` for
run, watch and serve: a glossary becomes the vocabulary id every task's `run-task` carries."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import sys
from dataclasses import replace
from pathlib import Path

from subtitler.errors import ServiceError, UsageError
from subtitler.gummy import vocabulary
from subtitler.gummy.client import ClientKind
from subtitler.gummy.environment import resolve_endpoint, resolve_key
from subtitler.gummy.glossary import (
    COLUMNS,
    TARGET_MODEL,
    Glossary,
    GlossaryEntry,
    prefix_problem,
    read_glossary,
    terms_for,
)
from subtitler.languages import Translator
from subtitler.options import RunOptions

EXIT_OK = 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    json_help = "JSON on stdout"
    parser.add_argument("--json", action="store_true", help=json_help)
    actions = parser.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="list, show, create or delete"
    )
    listing = actions.add_parser("list", help="every vocabulary of the account")
    show = actions.add_parser("show", help="a vocabulary's entries, as a glossary CSV")
    show.add_argument("vocabulary_id", metavar="ID", help="the vocabulary's id (from list)")
    create = actions.add_parser(
        "create", help="a vocabulary from a glossary CSV (the same content is reused)"
    )
    create.add_argument(
        "glossary", type=Path, metavar="FILE", help="a glossary CSV (see run's --glossary)"
    )
    create.add_argument(
        "--prefix", help="the id's prefix: lowercase letters and digits, under 10 (default: sg "
        "and the content's hash, which finds it again)",
    )  # fmt: skip
    delete = actions.add_parser("delete", help="delete a vocabulary")
    delete.add_argument("vocabulary_id", metavar="ID", help="the vocabulary's id (from list)")
    for action in (listing, show, create, delete):
        action.add_argument(
            "--endpoint",
            metavar="URL",
            help="Gummy WebSocket URL; the API is the same host's /api/v1 (default: "
            "DASHSCOPE_WEBSOCKET_BASE_URL or DashScope's; DASHSCOPE_HTTP_BASE_URL overrides)",
        )
        action.add_argument(
            "--client",
            choices=[kind.value for kind in ClientKind],
            default=ClientKind.NATIVE.value,
            help="native (default) or sdk: the dashscope SDK's VocabularyService",
        )
        # before or after the action; SUPPRESS: an action's default never undoes `--json list`
        action.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help=json_help
        )


def run(arguments: argparse.Namespace) -> int:
    endpoint = resolve_endpoint(arguments.endpoint)
    client = vocabulary.vocabularies_for(
        ClientKind(arguments.client), resolve_key(endpoint), endpoint
    )
    try:
        return asyncio.run(_act(arguments, client))
    except vocabulary.VocabularyRefused as refusal:
        raise UsageError(
            f"vocabulary {arguments.action}", f"the service refused: {refusal.cause}"
        ) from refusal
    except ServiceError as error:  # the service cannot be used at all: exit 2, as run's
        raise UsageError(f"vocabulary {arguments.action}", f"{error}; check --endpoint") from error


async def _act(arguments: argparse.Namespace, client: vocabulary.Vocabularies) -> int:
    action = arguments.action
    if action == "list":
        listed = await vocabulary.list_all(client)
        if arguments.json:
            print(json.dumps([summary.__dict__ for summary in listed]))
        for summary in [] if arguments.json else listed:
            print(f"{summary.vocabulary_id}\t{summary.status}\tcreated {summary.created}\t"
                  f"modified {summary.modified}")  # fmt: skip
        if not arguments.json:
            print(counted(len(listed)), file=sys.stderr)
    elif action == "show":
        detail = await vocabulary.query(client, arguments.vocabulary_id)
        if arguments.json:
            entries = [entry.as_service() for entry in detail.entries]
            print(json.dumps({**detail.__dict__, "entries": entries}, ensure_ascii=False))
        else:
            print(as_csv(detail.entries), end="")
    elif action == "create":
        glossary = read_glossary(arguments.glossary)
        if arguments.prefix is not None and (problem := prefix_problem(arguments.prefix)):
            raise UsageError("--prefix", problem)
        vocabulary_id, created = await vocabulary.ensure_vocabulary(
            client, glossary, arguments.prefix
        )
        if arguments.json:
            print(json.dumps({"vocabulary_id": vocabulary_id, "created": created}))
        else:
            print(vocabulary_id)
            print(f"subtitler: {glossary.path}: {_how(created)}", file=sys.stderr)
    else:
        await vocabulary.delete(client, arguments.vocabulary_id)
        print(json.dumps({"deleted": arguments.vocabulary_id}) if arguments.json else
              f"deleted {arguments.vocabulary_id}")  # fmt: skip
    return EXIT_OK


def counted(number: int) -> str:
    return f"{number} {'vocabulary' if number == 1 else 'vocabularies'}"


def as_csv(entries: tuple[GlossaryEntry, ...]) -> str:
    """Entries in the glossary format (so `show` output is a glossary `create` takes)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow([entry.text, entry.weight, entry.lang or "", entry.target_lang or "",
                         entry.translation or ""])  # fmt: skip
    return buffer.getvalue()


def with_glossary(options: RunOptions, path: Path | None, estimating: bool = False) -> RunOptions:
    """Options whose tasks carry the glossary's vocabulary id (created or reused now); the
    glossary is checked before any call. No call at all for an estimate."""
    if path is None:
        return options
    if options.gummy.vocabulary_id:
        raise UsageError("--glossary", "give --glossary or --vocabulary-id, not both")
    glossary = read_glossary(path)
    terms = {target: terms_for(glossary, target) for target in options.translators}
    options = replace(options, glossary_terms={t: found for t, found in terms.items() if found})
    if estimating:
        return options
    vocabulary_id = resolve_glossary(options, glossary)
    return replace(options, gummy=replace(options.gummy, vocabulary_id=vocabulary_id))


def resolve_glossary(options: RunOptions, glossary: Glossary) -> str:
    client = vocabulary.vocabularies_for(
        options.client, options.gummy.api_key, options.gummy.endpoint, options.region.http_url
    )
    model = options.recognition_only(live=False).gummy.model if not_gummy_tasks(options) else None
    try:
        vocabulary_id, created = asyncio.run(
            vocabulary.ensure_vocabulary(client, glossary, target_model=model or TARGET_MODEL)
        )
    except vocabulary.VocabularyRefused as refusal:
        raise UsageError(
            f"--glossary {glossary.path}", f"the service refused its vocabulary: {refusal.cause}"
        ) from refusal
    except ServiceError as error:
        raise UsageError(f"--glossary {glossary.path}", str(error)) from error
    print(f"subtitler: {glossary.path}: {_how(created)} {vocabulary_id}", file=sys.stderr)
    return vocabulary_id


def not_gummy_tasks(options: RunOptions) -> bool:
    """Every target is Qwen-MT's: the one task per input recognises only (Fun-ASR outside
    Beijing), and the vocabulary is made for its model (a list is bound to one model)."""
    return all(options.translator_of(target) is Translator.QWEN_MT for target in options.targets)


def _how(created: bool) -> str:
    return "created vocabulary" if created else "reusing vocabulary (same content)"
