"""`subtitler serve`: the HTTP service's command line (its library, media servers and job queue)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from subtitler.errors import UsageError
from subtitler.gummy.client import ClientKind
from subtitler.options import make_options

if TYPE_CHECKING:
    from subtitler.outputs.delivery import Receiver

    OutputFactory = Callable[[Callable[[str], None]], Receiver]
    """A live output, made once the run's view says where its messages go."""
from subtitler.cli.arguments import add_run_options, option_keywords
from subtitler.cli.exits import EXIT_OK
from subtitler.cli.session import keep_local_off_proxies, watch_children_without_threads


def _add_library_options(library: argparse._ActionsContainer) -> None:
    """serve's library folders, media servers and job queue."""
    from subtitler.serve.fence import default_queue_file
    from subtitler.serve.limits import MAX_JOB_BYTES, MAX_JOB_PATHS

    library.add_argument(
        "--library",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="a folder jobs and webhooks may subtitle in (repeatable); paths outside every "
        "--library are refused (403); without one, jobs and webhooks are off",
    )
    library.add_argument(
        "--path-map",
        action="append",
        default=[],
        metavar="FROM=TO",
        help="a path under FROM (as a media server or client names it) is under TO here "
        "(repeatable; the longest FROM wins; D:\\Movies=/srv/movies for a Windows server)",
    )
    for kind, name in (("jellyfin", "Jellyfin"), ("emby", "Emby"), ("plex", "Plex")):
        library.add_argument(
            f"--{kind}",
            metavar="URL",
            help=f"{name}'s address, to look items up and refresh them after their tracks "
            f"are written (token from {kind.upper()}_TOKEN)",
        )
    library.add_argument(
        "--webhook-events",
        default="added",
        metavar="added[,played]",
        help="what webhooks act on: items added (default), and with played, playback starts",
    )
    library.add_argument(
        "--queue-file",
        type=Path,
        default=default_queue_file(),
        metavar="FILE",
        help="the job queue's journal: jobs survive a restart (default "
        "$XDG_STATE_HOME/subtitler/jobs.jsonl)",
    )
    library.add_argument(
        "--keep-jobs",
        type=int,
        default=1000,
        metavar="N",
        help="finished jobs kept in the journal and in GET /jobs (default 1000)",
    )
    library.add_argument(
        "--max-job-kb",
        type=int,
        default=MAX_JOB_BYTES // 1024,
        metavar="KB",
        help=f"largest POST /jobs body accepted (413 beyond; default {MAX_JOB_BYTES // 1024})",
    )
    library.add_argument(
        "--max-job-paths",
        type=int,
        default=MAX_JOB_PATHS,
        metavar="N",
        help=f"most paths one job may name (422 beyond; default {MAX_JOB_PATHS})",
    )


def _serve_command(arguments: argparse.Namespace) -> int:
    from subtitler.languages import parse_targets
    from subtitler.serve.app import AsrService, LibrarySettings, serve_forever
    from subtitler.serve.fence import Libraries, parse_path_map
    from subtitler.serve.mediaservers import EVENTS, SERVERS, servers_from
    from subtitler.views.access import trusted_networks

    if not 0 <= arguments.port <= 65535:
        raise UsageError("--port", "must be 0..65535")
    if not arguments.max_upload_mb > 0:
        raise UsageError("--max-upload-mb", "must be more than 0")
    if arguments.keep_jobs < 0:
        raise UsageError("--keep-jobs", "must be 0 or more")
    if arguments.max_job_kb < 1 or arguments.max_job_paths < 1:
        raise UsageError("--max-job-kb/--max-job-paths", "must be at least 1")
    events = tuple(e.strip() for e in arguments.webhook_events.split(",") if e.strip())
    if not events or any(event not in EVENTS["tautulli"] for event in events):
        raise UsageError("--webhook-events", "expected added, played or added,played")
    try:
        trusted_networks(arguments.trusted_proxy)
    except ValueError as error:
        raise UsageError("--trusted-proxy", f"expected an address or a network: {error}") from None
    keywords = option_keywords(arguments)
    targets = parse_targets(arguments.targets) if arguments.targets else None
    options = make_options(targets or ("en",), **keywords)  # checks the defaults now
    if options.client is ClientKind.SDK:
        keep_local_off_proxies(options.gummy.endpoint)
    if arguments.glossary is not None:
        from subtitler.cli.vocabulary import with_glossary

        options = with_glossary(options, arguments.glossary)
    keywords["vocabulary_id"] = options.gummy.vocabulary_id  # jobs carry it too
    token = arguments.api_token or None
    loopback = arguments.host in ("127.0.0.1", "::1", "localhost")
    library = LibrarySettings(
        libraries=Libraries.of(arguments.library),
        path_maps=tuple(parse_path_map(spec) for spec in arguments.path_map),
        servers=servers_from({kind: getattr(arguments, kind) for kind in SERVERS}),
        webhook_events=events,
        queue_file=arguments.queue_file,
        keep_jobs=arguments.keep_jobs,
        max_job_bytes=arguments.max_job_kb * 1024,
        max_job_paths=arguments.max_job_paths,
        job_defaults={**keywords, "targets": list(targets) if targets else None},
    )
    max_upload_bytes = int(arguments.max_upload_mb * 1024 * 1024)
    service = AsrService(options, token, max_upload_bytes, library=library, host=arguments.host,
                         allowed_hosts=tuple(arguments.allowed_host),
                         trusted_proxies=tuple(arguments.trusted_proxy))  # fmt: skip

    def announce(url: str) -> None:
        served = "POST /asr, /detect-language, /subtitles"
        if arguments.library:
            served += "; /jobs; webhooks /jellyfin, /emby, /plex, /tautulli"
        print(f"subtitler: serving on {url} ({served})", file=sys.stderr, flush=True)
        if token is None and not loopback:
            print("subtitler: warning: no --api-token: anyone who reaches this address can "
                  "use your DashScope key", file=sys.stderr, flush=True)  # fmt: skip
        if arguments.library and not service.serves_review:
            print("subtitler: the review editor (/review/) is off: it needs --api-token "
                  "when serving beyond loopback", file=sys.stderr, flush=True)  # fmt: skip

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = asyncio.current_task()
        assert server is not None
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, server.cancel)
        watch_children_without_threads(loop)
        with contextlib.suppress(asyncio.CancelledError):
            await serve_forever(service, arguments.host, arguments.port, announce)

    asyncio.run(main())
    return EXIT_OK


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """serve's arguments, and its handler."""
    serve = commands.add_parser(
        "serve",
        usage="%(prog)s [options]",  # every option is listed below, in groups
        help="an HTTP service compatible with whisper-asr-webservice (Bazarr's Whisper "
        "provider) and subgen's media-server webhooks, with a job queue for library folders",
        description="Serve POST /asr and POST /detect-language as whisper-asr-webservice does "
        "(Bazarr's Whisper provider works unchanged), POST /subtitles for bilingual tracks, "
        "and with --library a job queue (POST /jobs, GET /jobs/ID, DELETE /jobs/ID) and "
        "subgen's webhooks (POST /jellyfin, /emby, /plex, /tautulli). The run options below "
        "are the defaults of jobs and webhooks. Loopback only unless --host is given; "
        "--api-token (or SUBTITLER_API_TOKEN) makes clients send Authorization: Bearer TOKEN "
        "(webhooks may send ?token=TOKEN instead: media servers cannot set headers). "
        "Open http://HOST:PORT/ in a browser for the console (jobs live, submit, cost; "
        "its sign-in keeps the token in an HttpOnly cookie).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=9000, help="port (9000; 0: any free one)")
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a name browsers reach this server by, besides --host, loopback names and IP "
        "addresses (repeatable, e.g. nas.lan); a browser's request for any other name is "
        "refused (421: another site's name pointed at this server, DNS rebinding)",
    )
    serve.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy (address or network, repeatable; none by default) whose "
        "X-Forwarded-Proto and X-Forwarded-Host are believed: behind a TLS proxy the console's "
        "origin check then sees https and its sign-in cookie is Secure",
    )
    serve.add_argument(
        "--api-token",
        default=os.environ.get("SUBTITLER_API_TOKEN"),
        metavar="TOKEN",
        help="require this bearer token (default: SUBTITLER_API_TOKEN, else none)",
    )
    serve.add_argument(
        "--max-upload-mb",
        type=float,
        default=8192,
        metavar="MB",
        help="largest upload accepted (default 8192: 70 h of raw 16 kHz PCM)",
    )
    _add_library_options(serve.add_argument_group("library: jobs and webhooks"))
    add_run_options(serve, "serve")
    serve.set_defaults(handler=_serve_command)
