"""daprd's command-line flags (spec J1), parsed the way daprd's pflag set parses them.

The launcher (and the dapr CLI) pass the same argument list to a real ``daprd`` and to this
sidecar, so every flag daprd 1.18 accepts is accepted here, with daprd's types, defaults and
errors: the flag list itself is daprd's ``--help`` text (:mod:`localdapr.flagdefs`). Flags that
change nothing in the local sidecar are accepted and named in one start-up log line
(:data:`IGNORED`; the reasons are in DIFFERENCES.md).

Errors, as daprd gives them:

* pflag (exit 2, message + ``Usage of daprd:`` on stderr): unknown flag, missing value, a value
  that does not parse as the flag's type (``strconv.ParseInt``/``ParseBool``/``ParseUint``,
  ``time.ParseDuration``);
* ``Failed to parse flags: invalid value for 'max-body-size' option: ...`` (fatal, exit 1) for a
  quantity that does not parse;
* ``Fatal error from runtime: ...`` (exit 1) for what daprd checks when the runtime starts
  (:func:`runtime_error`: ports, app protocol, health-probe timings, app id).

One deliberate difference: ``--dapr-listen-addresses`` defaults to ``127.0.0.1`` here (daprd
listens on all interfaces), because the cookbook binds everything to loopback.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from localdapr import flagdefs
from localdapr.quantity import QuantityError, parse_bytes

LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")
APP_PROTOCOLS = ("http", "grpc", "https", "grpcs", "h2c")
DEFAULT_MAX_BODY = 4 << 20

# Flags the local sidecar accepts and does nothing with (a log line names the ones given).
IGNORED = frozenset(
    """actors-disseminate-timeout allowed-origins control-plane-address control-plane-namespace
    control-plane-trust-domain dapr-block-shutdown-duration dapr-internal-grpc-listen-address
    dapr-internal-grpc-port dapr-public-listen-address dapr-public-port disable-builtin-k8s-secret-store
    disable-init-endpoints enable-metrics enable-mtls enable-profiling hot-reload-reconcile-interval
    metrics-listen-address metrics-port profile-port read-buffer-size dapr-http-read-buffer-size
    scheduler-job-streams sentry-address sentry-request-jwt-audiences unix-domain-socket app-ssl
    reminders-service actors-service""".split()
)


@dataclass(frozen=True)
class FlagDef:
    name: str
    kind: str  # string | strings | int | uint | bool | duration
    default: str
    deprecated: str = ""


def _flag_table() -> dict[str, FlagDef]:
    """Every flag of daprd's usage text (name, type word, last ``(default ...)``) plus the
    deprecated hidden ones."""
    table: dict[str, FlagDef] = {}
    for line in flagdefs.USAGE.splitlines():
        m = re.match(r"\s+--(\S+)(?: (\w+))?\s{2,}(.*)", line)
        if not m:
            continue
        defaults = re.findall(r'\(default ("[^"]*"|[^)]*)\)', m.group(3))
        default = defaults[-1].strip('"') if defaults else ""
        kind = m.group(2) or "bool"
        if kind == "bool" and default not in ("true",):
            default = "false"
        table[m.group(1)] = FlagDef(m.group(1), kind, default)
    for name, (kind, default, notice) in flagdefs.DEPRECATED.items():
        table[name] = FlagDef(name, kind, default, notice)
    table["dapr-listen-addresses"] = FlagDef("dapr-listen-addresses", "string", "127.0.0.1")  # see module docstring
    return table


FLAGS = _flag_table()


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
    configs: list[Path] = field(default_factory=list)
    placement_host_address: str = ""
    scheduler_host_address: str = ""
    log_level: str = "info"
    log_as_json: bool = False
    log_file: str = ""
    enable_metrics: bool = True
    metrics_port: int = 9090
    max_body_size: int = DEFAULT_MAX_BODY
    graceful_shutdown_seconds: float = 5.0
    app_max_concurrency: int = 0  # 0: no limit (daprd turns -1 into 0)
    enable_app_health_check: bool = False
    app_health_check_path: str = "/healthz"
    app_health_probe_interval: float = 5.0  # seconds
    app_health_probe_timeout: float = 0.5  # seconds
    app_health_threshold: int = 3
    enable_api_logging: bool | None = None  # None: not given (the Configuration may turn it on)
    mode: str = "standalone"
    # Flags given on the command line (pflag's ``Changed``), for the "ignored" log line.
    changed: list[str] = field(default_factory=list)
    # Every flag's values as given (strings), for checks daprd makes when the runtime starts.
    raw: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def config(self) -> Path | None:
        return self.configs[0] if self.configs else None

    @property
    def actors_enabled(self) -> bool:
        """daprd enables actors (and so workflows) only with a placement address (spec A4.1)."""
        return bool(self.placement_host_address.strip())

    @property
    def listen_address(self) -> str:
        return self.dapr_listen_addresses.split(",")[0].strip() or "127.0.0.1"

    @property
    def ignored_flags(self) -> list[str]:
        return [f"--{name}" for name in self.changed if name in IGNORED]


class FlagExit(Exception):
    """Stop before the runtime starts: ``code`` and the lines to print (stderr, stdout)."""

    def __init__(self, code: int, stderr: str = "", stdout: str = "") -> None:
        super().__init__(stderr or stdout)
        self.code, self.stderr, self.stdout = code, stderr, stdout


class FatalFlag(Exception):
    """daprd's ``log.Fatalf("Failed to parse flags: %v")`` (exit 1)."""


def usage() -> str:
    return "Usage of daprd:\n" + flagdefs.USAGE


def _pflag_error(message: str) -> NoReturn:
    """pflag with ExitOnError: message and usage on stderr, exit 2 (the message also on stdout)."""
    raise FlagExit(2, f"{message}\n{usage()}", message + "\n")


# ---- value parsing as Go's strconv / time ---------------------------------------------------------
_GO_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_GO_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_parse_bool(value: str) -> bool:
    if value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def go_parse_int(value: str, *, unsigned: bool = False) -> int:
    fn = "ParseUint" if unsigned else "ParseInt"
    pattern = r"[0-9]+" if unsigned else r"[+-]?[0-9]+"
    if not re.fullmatch(pattern, value):
        raise ValueError(f'strconv.{fn}: parsing "{value}": invalid syntax')
    number = int(value)
    if (unsigned and number >= 2**64) or (not unsigned and not -(2**63) <= number < 2**63):
        raise ValueError(f'strconv.{fn}: parsing "{value}": value out of range')
    return number


def go_atoi(value: str) -> int:
    """strconv.Atoi's error text (daprd parses the port flags with it at runtime start)."""
    try:
        return go_parse_int(value)
    except ValueError as exc:
        raise ValueError(str(exc).replace("ParseInt", "Atoi")) from None


def go_parse_duration(value: str) -> float:
    """time.ParseDuration, in seconds, with its error texts."""
    text = value[1:] if value[:1] in "+-" else value
    if text == "0":
        return 0.0
    if not text:
        raise ValueError(f'time: invalid duration "{value}"')
    total, pos = 0.0, 0
    while pos < len(text):
        number = re.match(r"[0-9]*(?:\.[0-9]*)?", text[pos:]).group(0)  # type: ignore[union-attr]
        if number in ("", "."):
            raise ValueError(f'time: invalid duration "{value}"')
        pos += len(number)
        unit = re.match(r"[^0-9.]*", text[pos:]).group(0)  # type: ignore[union-attr]
        if not unit:
            raise ValueError(f'time: missing unit in duration "{value}"')
        if unit not in _DURATION_UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{value}"')
        pos += len(unit)
        total += float(number) * _DURATION_UNITS[unit]
    return -total if value.startswith("-") else total


def _check_value(flag: FlagDef, value: str) -> None:
    try:
        if flag.kind == "int":
            go_parse_int(value)
        elif flag.kind == "uint":
            go_parse_int(value, unsigned=True)
        elif flag.kind == "bool":
            go_parse_bool(value)
        elif flag.kind == "duration":
            go_parse_duration(value)
    except ValueError as exc:
        _pflag_error(f'invalid argument "{value}" for "--{flag.name}" flag: {exc}')


def parse_flags(argv: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """pflag's parse: values per flag (in order) and the deprecation notices printed.

    daprd first turns every ``-x...`` argument (longer than two characters) into ``--x...``,
    values included, so ``-app-id a`` works and ``-4Ki`` is read as ``--4Ki``.
    """
    args = ["-" + a if len(a) > 2 and a[0] == "-" and a[1] != "-" else a for a in argv]
    values: dict[str, list[str]] = {}
    notices: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            continue  # positional arguments: daprd ignores them
        if not arg.startswith("--"):
            if arg[1] == "h":
                raise FlagExit(2, usage(), "pflag: help requested\n")
            _pflag_error(f"unknown shorthand flag: '{arg[1]}' in {arg}")
        name, has_value, value = arg[2:].partition("=")
        if name == "help" and not has_value:
            raise FlagExit(2, usage(), "pflag: help requested\n")
        flag = FLAGS.get(name)
        if flag is None:
            _pflag_error(f"unknown flag: --{name}")
        if not has_value:
            if flag.kind == "bool":
                value = "true"
            elif i < len(args):
                value = args[i]
                i += 1
            else:
                _pflag_error(f"flag needs an argument: --{name}")
        _check_value(flag, value)
        if flag.deprecated:
            notices.append(f"Flag --{name} has been deprecated, {flag.deprecated}")
        values.setdefault(name, []).append(value)
    return values, notices


def _last(values: dict[str, list[str]], name: str) -> str:
    return values[name][-1] if name in values else FLAGS[name].default


def _slice(values: dict[str, list[str]], name: str) -> list[str]:
    """A pflag ``strings`` flag: each use is comma-separated, uses accumulate."""
    return [part for raw in values.get(name, []) for part in raw.split(",") if part != ""]


def _quantity(values: dict[str, list[str]], name: str, legacy: str, shift: int, default: int) -> int:
    if name in values:
        try:
            return parse_bytes(values[name][-1])
        except QuantityError as exc:
            raise FatalFlag(f"invalid value for '{name}' option: {exc}") from None
    if legacy in values:
        number = int(values[legacy][-1])
        return number << shift if number > 0 else number
    return default


def parse_args(argv: list[str] | None = None) -> SidecarOptions:
    """Parse daprd flags. Raises FlagExit (pflag errors, --help) or FatalFlag (quantities);
    values daprd checks only when the runtime starts are checked by :func:`runtime_error`."""
    values, notices = parse_flags(sys.argv[1:] if argv is None else argv)
    for notice in notices:
        sys.stderr.write(notice + "\n")
    max_body = _quantity(values, "max-body-size", "dapr-http-max-request-size", 20, DEFAULT_MAX_BODY)
    _quantity(values, "read-buffer-size", "dapr-http-read-buffer-size", 10, 4 << 10)
    paths = [Path(p) for p in _slice(values, "resources-path")]
    if not paths and _last(values, "components-path"):
        paths = [Path(_last(values, "components-path"))]
    interval = int(_last(values, "app-health-probe-interval"))
    timeout_ms = int(_last(values, "app-health-probe-timeout"))
    threshold = int(_last(values, "app-health-threshold"))
    concurrency = int(_last(values, "app-max-concurrency"))
    grace = int(_last(values, "dapr-graceful-shutdown-seconds"))
    opts = SidecarOptions(
        app_id=_last(values, "app-id"),
        app_protocol=_last(values, "app-protocol"),
        app_channel_address=_last(values, "app-channel-address"),
        dapr_listen_addresses=_last(values, "dapr-listen-addresses"),
        resources_paths=paths,
        configs=[Path(p) for p in _slice(values, "config")],
        placement_host_address=_last(values, "placement-host-address"),
        scheduler_host_address=",".join(_slice(values, "scheduler-host-address")),
        log_level=_last(values, "log-level"),
        log_as_json=go_parse_bool(_last(values, "log-as-json")),
        log_file=_last(values, "log-file"),
        enable_metrics=go_parse_bool(_last(values, "enable-metrics")),
        max_body_size=max_body,
        graceful_shutdown_seconds=float(grace if grace >= 0 else 5),
        app_max_concurrency=max(concurrency, 0),
        enable_app_health_check=go_parse_bool(_last(values, "enable-app-health-check")),
        app_health_check_path="/" + _last(values, "app-health-check-path").lstrip("/"),
        app_health_probe_interval=float(interval if interval > 0 else 5),
        app_health_probe_timeout=(timeout_ms if timeout_ms > 0 else 500) / 1000,
        app_health_threshold=threshold if threshold >= 1 else 3,
        enable_api_logging=go_parse_bool(values["enable-api-logging"][-1]) if "enable-api-logging" in values else None,
        mode=_last(values, "mode"),
        changed=list(values),
        raw=values,
    )
    return opts


def runtime_error(opts: SidecarOptions) -> str | None:
    """What daprd's ``toInternal`` and logger set-up refuse, worded as daprd (a fatal log line,
    exit 1); on success the ports are filled in. None when everything is fine."""
    raw = opts.raw
    if opts.log_level not in LOG_LEVELS:
        return f"invalid value for --log-level: {opts.log_level}"
    if opts.mode != "standalone":
        return f"Fatal error from runtime: mode {opts.mode!r} is not supported by the local sidecar (localdapr): it runs standalone only"
    problem = app_id_error(opts.app_id)
    if problem:
        return f"Fatal error from runtime: {problem}"
    try:
        opts.dapr_http_port = go_atoi(_last(raw, "dapr-http-port"))
    except ValueError as exc:
        return f"Fatal error from runtime: error parsing dapr-http-port flag: {exc}"
    try:
        opts.dapr_grpc_port = go_atoi(_last(raw, "dapr-grpc-port"))
    except ValueError as exc:
        return f"Fatal error from runtime: error parsing dapr-grpc-port flag: {exc}"
    try:
        go_atoi(_last(raw, "profile-port"))
    except ValueError as exc:
        return f"Fatal error from runtime: error parsing profile-port flag: {exc}"
    internal = _last(raw, "dapr-internal-grpc-port")
    if internal not in ("", "0"):
        try:
            opts.dapr_internal_grpc_port = go_atoi(internal)
        except ValueError as exc:
            return f"Fatal error from runtime: error parsing dapr-internal-grpc-port: {exc}"
    if _last(raw, "dapr-public-port"):
        try:
            go_atoi(_last(raw, "dapr-public-port"))
        except ValueError as exc:
            return f"Fatal error from runtime: error parsing dapr-public-port: {exc}"
    app_port = _last(raw, "app-port")
    if app_port:
        try:
            opts.app_port = go_atoi(app_port)
        except ValueError as exc:
            return f"Fatal error from runtime: error parsing app-port: {exc}"
    port = opts.app_port or 0
    if port == opts.dapr_http_port:
        return f"Fatal error from runtime: the 'dapr-http-port' argument value {opts.dapr_http_port} conflicts with 'app-port'"
    if port == opts.dapr_grpc_port:
        return f"Fatal error from runtime: the 'dapr-grpc-port' argument value {opts.dapr_grpc_port} conflicts with 'app-port'"
    protocol = opts.app_protocol.lower() or "http"
    if protocol not in APP_PROTOCOLS:
        return f"Fatal error from runtime: invalid value for 'app-protocol': {opts.app_protocol}"
    opts.app_protocol = protocol
    for endpoint in _slice(raw, "disable-init-endpoints"):
        if endpoint.strip().lower() and endpoint.strip().lower() not in ("config", "subscribe"):
            return f"Fatal error from runtime: invalid value for 'disable-init-endpoints': {endpoint.strip().lower()}"
    if opts.app_health_probe_timeout > opts.app_health_probe_interval:
        return "Fatal error from runtime: value for 'health-probe-timeout' must be smaller than 'health-probe-interval'"
    return None


def app_id_error(app_id: str) -> str | None:
    """daprd's start-up check of ``--app-id`` (validation.ValidateSelfHostedAppID)."""
    if app_id == "":
        return "parameter app-id cannot be empty"
    if "." in app_id:
        return "parameter app-id cannot contain dots"
    return None
