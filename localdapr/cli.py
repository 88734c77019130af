"""``python -m localdapr`` / ``localdapr``: the daprd-compatible entry point.

The order of checks is daprd's (``cmd/daprd/app.Run``): flags (pflag errors exit 2, a bad
quantity is fatal), ``--version`` / ``--build-info`` / ``--wait``, the logger options, then the
runtime's own checks of flag values, then the Configuration file (:mod:`localdapr.config`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import urllib.error
import urllib.request

from localdapr import RUNTIME_VERSION, logs
from localdapr.options import FatalFlag, FlagExit, parse_args, runtime_error

log = logging.getLogger("localdapr.runtime")


def _wait_for_outbound(http_port: str) -> None:
    """``daprd --wait``: poll ``/v1.0/healthz/outbound`` until it answers 2xx (daprd gives up
    after its timeout, 60 s by default, and exits 0 either way)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/v1.0/healthz/outbound", timeout=1) as resp:
                if 200 <= resp.status < 300:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)


def _fatal(message: str, app_id: str = "") -> int:
    """daprd's ``log.Fatal``: one fatal line on stdout, exit 1."""
    logs.configure("info", app_id)
    log.critical("%s", message)
    return 1


def main(argv: list[str] | None = None) -> int:
    try:
        options = parse_args(sys.argv[1:] if argv is None else argv)
    except FlagExit as exc:
        sys.stderr.write(exc.stderr)
        sys.stdout.write(exc.stdout)
        return exc.code
    except FatalFlag as exc:
        return _fatal(f"Failed to parse flags: {exc}")
    if "version" in options.changed and options.raw["version"][-1] in ("true", "1", "t", "T", "TRUE", "True"):
        print(RUNTIME_VERSION)
        return 0
    if "build-info" in options.changed and options.raw["build-info"][-1] in ("true", "1", "t", "T", "TRUE", "True"):
        print(f"Version: {RUNTIME_VERSION}\nGit Commit: \nGit Version: \n(localdapr: the local sidecar, not a daprd build)")
        return 0
    if "wait" in options.changed and options.raw["wait"][-1] in ("true", "1", "t", "T", "TRUE", "True"):
        _wait_for_outbound(options.raw.get("dapr-http-port", ["3500"])[-1])
        return 0
    problem = runtime_error(options)
    if problem and problem.startswith("invalid value for --log-level"):
        return _fatal(problem, options.app_id)
    logs.configure(options.log_level, options.app_id, as_json=options.log_as_json, log_file=options.log_file)
    if problem:  # daprd checks these when the runtime starts: a fatal log line and exit 1
        log.critical("%s", problem)
        return 1
    from localdapr.server import serve  # imported late: flag errors answer without loading grpc

    return asyncio.run(serve(options))
