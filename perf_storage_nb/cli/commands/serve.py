"""``perf-storage serve``: run the real MGraph-AI Cache Service on 127.0.0.1 with an API key (a dev tool)."""

from __future__ import annotations

import argparse
import signal
import sys

from ...errors import StorageError
from ..record import Command
from ..secrets import api_key_from

ORDER = 90  # last in --help

DEFAULT_API_KEY_HEADER = "x-api-key"  # the backend's default; not imported here so start-up stays light


def _build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode",
        choices=["memory", "local_disk", "s3"],
        default="memory",
        help="storage mode (memory: lost on exit; local_disk: files under --path; s3: moto or --s3-endpoint)",
    )
    parser.add_argument("--port", type=int, default=10017, help="port on 127.0.0.1 (0 = any free port; default 10017)")
    parser.add_argument(
        "--api-key-file",
        default=None,
        metavar="PATH",
        help="read the API key clients must send from this file (default: env PERF_STORAGE_API_KEY, "
        "else a generated one)",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="the API key on the command line: visible to every user of this machine (ps); "
        "prefer env PERF_STORAGE_API_KEY or --api-key-file",
    )
    parser.add_argument("--api-key-header", default=DEFAULT_API_KEY_HEADER, help="header name of the API key")
    parser.add_argument("--path", default=None, help="folder for --mode local_disk (default: a new temp folder)")
    parser.add_argument(
        "--s3-endpoint", default=None, help="S3 endpoint for --mode s3 (default: start a local moto server)"
    )
    parser.add_argument("--bucket", default="perf-storage-nb", help="S3 bucket for --mode s3")


def serve(args: argparse.Namespace) -> int:
    """Start the server, print how to use it, and run until Ctrl-C or SIGTERM."""
    from ...backends.cache_service.process import CacheServer

    try:
        api_key = api_key_from(args)
    except StorageError as exc:
        print(f"perf-storage serve: {exc}", file=sys.stderr)
        return 2
    server = CacheServer(
        mode=args.mode,
        port=args.port,
        api_key=api_key,
        api_key_header=args.api_key_header,
        path=args.path,
        s3_endpoint=args.s3_endpoint,
        bucket=args.bucket,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop cleanly (finally below) when terminated
    try:
        server.start()
        where = (
            f" in {server.path}"
            if args.mode == "local_disk"
            else (f" via {server.s3_endpoint}" if args.mode == "s3" else "")
        )
        print(f"MGraph-AI Cache Service ({args.mode} storage{where}) running at {server.url}", flush=True)
        print(f"  export PERF_STORAGE_URL={server.url}")
        if server.generated_key:
            # Printed once so the user can copy it; a key given by the user is never echoed.
            print(
                f"  export PERF_STORAGE_API_KEY={server.api_key}    # generated API key (header "
                f"{args.api_key_header!r})"
            )
        else:
            print(f"  export PERF_STORAGE_API_KEY=...    # the key you gave (header {args.api_key_header!r})")
        print("Press Ctrl-C to stop.", flush=True)
        code = server.wait()
        print(f"the cache service exited with code {code}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except StorageError as exc:
        print(f"perf-storage serve: {exc}", file=sys.stderr)
        return 1
    finally:
        server.stop()


SERVE = Command(
    "serve",
    "Run the real MGraph-AI Cache Service on 127.0.0.1 with an API key (memory, local_disk or s3 mode).",
    _build,
    lambda ctx: serve(ctx.args),
    examples=(
        "perf-storage serve                              # memory mode on port 10017, a generated API key",
        "perf-storage serve --mode local_disk --path ./cache --api-key-file ~/.perf-key",
        "export PERF_STORAGE_URL=http://127.0.0.1:10017  # then: perf-storage sync ./perf_results $PERF_STORAGE_URL",
    ),
    common=False,
    json=False,
)
