"""The ``perf-storage`` console command: ``perf-storage serve`` runs the real cache service on 127.0.0.1."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from .backends.cache_service.wire import DEFAULT_API_KEY_HEADER
from .errors import StorageConfigError, StorageError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="perf-storage", description="perf_storage_nb command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the MGraph-AI Cache Service on 127.0.0.1 with an API key")
    serve.add_argument(
        "--mode",
        choices=["memory", "local_disk", "s3"],
        default="memory",
        help="storage mode (memory: lost on exit; local_disk: files under --path; s3: moto or --s3-endpoint)",
    )
    serve.add_argument("--port", type=int, default=10017, help="port on 127.0.0.1 (0 = any free port; default 10017)")
    serve.add_argument(
        "--api-key-file",
        default=None,
        metavar="PATH",
        help="read the API key clients must send from this file (default: env PERF_STORAGE_API_KEY, "
        "else a generated one)",
    )
    serve.add_argument(
        "--api-key",
        default=None,
        help="the API key on the command line: visible to every user of this machine (ps); "
        "prefer env PERF_STORAGE_API_KEY or --api-key-file",
    )
    serve.add_argument("--api-key-header", default=DEFAULT_API_KEY_HEADER, help="header name of the API key")
    serve.add_argument("--path", default=None, help="folder for --mode local_disk (default: a new temp folder)")
    serve.add_argument(
        "--s3-endpoint", default=None, help="S3 endpoint for --mode s3 (default: start a local moto server)"
    )
    serve.add_argument("--bucket", default="perf-storage-nb", help="S3 bucket for --mode s3")
    return parser


def api_key_from(args: argparse.Namespace) -> str | None:
    """The server's API key: ``--api-key-file``, else ``--api-key`` (with a warning), else env; None = generate."""
    if args.api_key_file and args.api_key:
        raise StorageConfigError("give --api-key-file or --api-key, not both")
    if args.api_key_file:
        try:
            key = Path(args.api_key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise StorageConfigError(f"cannot read --api-key-file {args.api_key_file!r}: {exc.strerror}") from exc
        if not key:
            raise StorageConfigError(f"--api-key-file {args.api_key_file!r} is empty")
        return key
    if args.api_key:
        print(
            "perf-storage serve: warning: --api-key puts the key on the command line, where other users of this "
            "machine can read it (ps, /proc); use env PERF_STORAGE_API_KEY or --api-key-file instead",
            file=sys.stderr,
            flush=True,
        )
        return str(args.api_key)
    return os.environ.get("PERF_STORAGE_API_KEY") or None


def serve(args: argparse.Namespace) -> int:
    """Start the server, print how to use it, and run until Ctrl-C or SIGTERM."""
    from .backends.cache_service.process import CacheServer

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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``perf-storage`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
