"""daprd's command-line flags (spec J1), parsed into one options object.

The launcher passes the same argument list to a real ``daprd`` and to this sidecar, so the
flag names and defaults follow daprd. One deliberate difference: ``--dapr-listen-addresses``
defaults to ``127.0.0.1`` here (daprd listens on all interfaces), because the cookbook binds
everything to loopback.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")
APP_PROTOCOLS = ("http", "grpc", "https", "grpcs", "h2c")


@dataclass
class SidecarOptions:
    app_id: str
    app_port: int | None = None
    app_protocol: str = "http"
    app_channel_address: str = "127.0.0.1"
    dapr_http_port: int = 3500
    dapr_grpc_port: int = 50001
    dapr_internal_grpc_port: int | None = None
    dapr_listen_addresses: str = "127.0.0.1"
    resources_paths: list[Path] = field(default_factory=list)
    config: Path | None = None
    placement_host_address: str = ""
    scheduler_host_address: str = ""
    log_level: str = "info"
    log_as_json: bool = False
    enable_metrics: bool = True
    metrics_port: int = 9090
    max_body_size: str = "4Mi"
    graceful_shutdown_seconds: float = 5.0
    enable_app_health_check: bool = False
    app_health_check_path: str = "/healthz"
    mode: str = "standalone"

    @property
    def actors_enabled(self) -> bool:
        """daprd enables actors (and so workflows) only with a placement address (spec A4.1)."""
        return bool(self.placement_host_address.strip())

    @property
    def listen_address(self) -> str:
        return self.dapr_listen_addresses.split(",")[0].strip() or "127.0.0.1"


def _bool_flag(value: str) -> bool:
    return value.strip().lower() in {"1", "t", "true", "y", "yes", "on"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="localdapr",
        description="Dapr-compatible local sidecar (daprd flags).",
        allow_abbrev=False,
    )
    p.add_argument("--app-id", required=True)
    p.add_argument("--app-port", type=int)
    p.add_argument("--app-protocol", default="http", choices=APP_PROTOCOLS)
    p.add_argument("--app-channel-address", default="127.0.0.1")
    p.add_argument("--dapr-http-port", type=int, default=3500)
    p.add_argument("--dapr-grpc-port", type=int, default=50001)
    p.add_argument("--dapr-internal-grpc-port", type=int)
    p.add_argument("--dapr-listen-addresses", default="127.0.0.1")
    p.add_argument("--resources-path", action="append", default=[])
    p.add_argument("--components-path", action="append", default=[], help="deprecated alias of --resources-path")
    p.add_argument("--config")
    p.add_argument("--placement-host-address", default="")
    p.add_argument("--scheduler-host-address", default="")
    p.add_argument("--log-level", default="info", choices=LOG_LEVELS)
    p.add_argument("--log-as-json", nargs="?", const="true", default="false")
    p.add_argument("--enable-metrics", nargs="?", const="true", default="true")
    p.add_argument("--metrics-port", type=int, default=9090)
    p.add_argument("--max-body-size", default="4Mi")
    p.add_argument("--dapr-graceful-shutdown-seconds", type=float, default=5.0)
    p.add_argument("--enable-app-health-check", nargs="?", const="true", default="false")
    p.add_argument("--app-health-check-path", default="/healthz")
    p.add_argument("--mode", default="standalone", choices=("standalone",))
    return p


def _unknown_flag(arg: str) -> str:
    """pflag's message for the first argument it does not know."""
    if arg.startswith("--"):
        return f"unknown flag: {arg.split('=', 1)[0]}"
    if arg.startswith("-") and len(arg) > 1:
        return f"unknown shorthand flag: '{arg[1]}' in {arg}"
    return f"unexpected argument: {arg}"


def _exit_unknown_flag(parser: argparse.ArgumentParser, arg: str) -> NoReturn:
    """Exit 2 as daprd (Go pflag, ExitOnError) does: the message and ``Usage of daprd:`` with the
    flags on stderr, the message again on stdout."""
    message = _unknown_flag(arg)
    usage = parser.format_help().split("options:\n", 1)[-1]  # the flag list, without argparse's usage line
    sys.stderr.write(f"{message}\nUsage of daprd:\n{usage}")
    sys.stdout.write(message + "\n")
    raise SystemExit(2)


def app_id_error(app_id: str) -> str | None:
    """daprd's start-up check of ``--app-id`` (a fatal error, exit 1, not a flag error)."""
    if "." in app_id:
        return "parameter app-id cannot contain dots"
    if not re.fullmatch(r"[^\s]+", app_id):
        return "parameter app-id cannot be empty or contain spaces"
    return None


def parse_args(argv: list[str] | None = None) -> SidecarOptions:
    """Parse daprd flags. Unknown flags exit 2 with pflag's text; bad values exit 2 (argparse)."""
    parser = build_parser()
    ns, unknown = parser.parse_known_args(argv)
    if unknown:
        _exit_unknown_flag(parser, unknown[0])
    paths: list[Path] = []
    for raw in [*ns.resources_path, *ns.components_path]:
        paths.extend(Path(part) for part in raw.split(",") if part.strip())
    return SidecarOptions(
        app_id=ns.app_id,
        app_port=ns.app_port,
        app_protocol=ns.app_protocol,
        app_channel_address=ns.app_channel_address,
        dapr_http_port=ns.dapr_http_port,
        dapr_grpc_port=ns.dapr_grpc_port,
        dapr_internal_grpc_port=ns.dapr_internal_grpc_port,
        dapr_listen_addresses=ns.dapr_listen_addresses,
        resources_paths=paths,
        config=Path(ns.config) if ns.config else None,
        placement_host_address=ns.placement_host_address,
        scheduler_host_address=ns.scheduler_host_address,
        log_level=ns.log_level,
        log_as_json=_bool_flag(ns.log_as_json),
        enable_metrics=_bool_flag(ns.enable_metrics),
        metrics_port=ns.metrics_port,
        max_body_size=ns.max_body_size,
        graceful_shutdown_seconds=ns.dapr_graceful_shutdown_seconds,
        enable_app_health_check=_bool_flag(ns.enable_app_health_check),
        app_health_check_path=ns.app_health_check_path,
    )
