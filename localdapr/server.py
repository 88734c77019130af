"""Process main loop: bring up the API servers, load components, serve until told to stop.

Order follows daprd: the HTTP health endpoints answer (500) while components load, then
``/healthz/outbound`` turns 204, then ``/healthz`` once the app channel (if any) is reachable.
A component that fails to load stops the process with a non-zero exit (spec A2.8).
SIGTERM/SIGINT or the shutdown API start a graceful stop bounded by
``--dapr-graceful-shutdown-seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from typing import Iterator

import grpc
import uvicorn
from dapr.proto.runtime.v1 import dapr_pb2_grpc

from localdapr import appchannel
from localdapr.actors.service import ActorService
from localdapr.api.access import AccessPolicy
from localdapr.api.grpc.dapr_service import DaprService
from localdapr.api.grpc.interceptors import ApiGuard as GrpcApiGuard
from localdapr.api.http.app import build_app
from localdapr.api.http.middleware import ApiGuard as HttpApiGuard
from localdapr.config import loader as config_loader
from localdapr.errors import ComponentError
from localdapr.options import SidecarOptions
from localdapr.pubsub.outbox import Outbox
from localdapr.pubsub.subscriptions import SubscriptionManager
from localdapr.runtime import Runtime
from localdapr.workflow import grpc_service as workflow_grpc

log = logging.getLogger("localdapr.runtime")

# The gRPC core's own receive limit: above --max-body-size so the interceptor answers with
# daprd's text; only a message larger than this gets the Python core's wording.
GRPC_CORE_LIMIT = 64 * 1024 * 1024


class _QuietUvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: the sidecar owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _wait_for_app(runtime: Runtime) -> None:
    """Mark the app ready once its port accepts TCP connections (the app channel); with
    ``--enable-app-health-check``, once its health endpoint answers 2xx instead, and keep
    probing (:class:`localdapr.appchannel.AppHealthMonitor`)."""
    opts = runtime.options
    if opts.app_port is None:
        runtime.app_ready = True
        return
    if opts.enable_app_health_check:
        await _monitor_app_health(runtime)
        return
    while not runtime.shutdown_requested.is_set():
        try:
            _, writer = await asyncio.open_connection(opts.app_channel_address, opts.app_port)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            break
        except OSError:
            await asyncio.sleep(0.05)
    runtime.app_ready = True
    log.info("app is reachable on port %s", opts.app_port)
    await appchannel.call_hooks(runtime.services, "on_app_ready")


async def _monitor_app_health(runtime: Runtime) -> None:
    opts = runtime.options

    async def changed(healthy: bool) -> None:
        if healthy:
            runtime.app_ready = True
        await appchannel.call_hooks(runtime.services, "on_app_ready" if healthy else "on_app_unhealthy")

    monitor = appchannel.AppHealthMonitor(
        f"http://{opts.app_channel_address}:{opts.app_port}", opts.app_health_check_path, opts.app_health_probe_interval,
        opts.app_health_probe_timeout, opts.app_health_threshold, changed)
    await monitor.run(runtime.shutdown_requested)


def _configure(runtime: Runtime) -> None:
    """Load ``--config`` (ConfigError stops start-up) and set who may call what; log what the
    local sidecar ignores (flags and Configuration sections) in one line each."""
    options = runtime.options
    runtime.config = config_loader.load(options.configs)
    runtime.access = AccessPolicy.build(runtime.config)
    runtime.api_logging = options.enable_api_logging if options.enable_api_logging is not None else bool(runtime.config.api_logging)
    runtime.app_concurrency = appchannel.ConcurrencyLimit(options.app_max_concurrency)
    if options.ignored_flags:
        log.warning("flags accepted but ignored by the local sidecar (localdapr): %s", ", ".join(options.ignored_flags))
    for path, kind in zip(runtime.config.files, runtime.config.kinds):
        if kind != "Configuration":
            log.warning("--config %s has kind %r, not Configuration; read anyway, as daprd does (localdapr)", path, kind)
    if runtime.config.ignored_sections:
        log.warning("Configuration sections accepted but ignored by the local sidecar (localdapr): %s",
                    ", ".join(f"spec.{s}" for s in runtime.config.ignored_sections))
    if runtime.access.token:
        log.info("Enabled token authentication on HTTP server")
        log.info("Enabled token authentication on gRPC server")
    if runtime.access.has_grpc_lists:
        log.info("Enabled API access list on gRPC server")


async def serve(options: SidecarOptions) -> int:
    runtime = Runtime(options)
    addr = options.listen_address
    try:
        _configure(runtime)
    except config_loader.ConfigError as exc:
        log.critical("Fatal error from runtime: error loading configuration: %s", exc)  # daprd: exit 1
        return 1

    grpc_server = grpc.aio.server(
        interceptors=[GrpcApiGuard(runtime)],
        options=[
            ("grpc.max_send_message_length", GRPC_CORE_LIMIT),
            ("grpc.max_receive_message_length", max(GRPC_CORE_LIMIT, 2 * options.max_body_size)),
            ("grpc.so_reuseport", 0),
        ],
    )
    dapr_pb2_grpc.add_DaprServicer_to_server(DaprService(runtime), grpc_server)
    workflow_grpc.register(runtime, grpc_server)
    runtime.services["subscriptions"] = SubscriptionManager(runtime)
    runtime.services["outbox"] = Outbox(runtime)
    runtime.services["actors"] = ActorService(runtime)
    try:
        grpc_server.add_insecure_port(f"{addr}:{options.dapr_grpc_port}")
    except RuntimeError as exc:
        log.error("cannot listen on gRPC port %s:%s: %s", addr, options.dapr_grpc_port, exc)
        return 1
    await grpc_server.start()

    http_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # A restarted sidecar must rebind at once even with connections of the killed one in TIME_WAIT.
    http_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        http_sock.bind((addr, options.dapr_http_port))
    except OSError as exc:
        log.error("cannot listen on HTTP port %s:%s: %s", addr, options.dapr_http_port, exc)
        await grpc_server.stop(0)
        return 1
    http = _QuietUvicorn(
        uvicorn.Config(HttpApiGuard(build_app(runtime), runtime), log_level="warning", lifespan="off", access_log=False, loop="none")
    )
    http_task = asyncio.create_task(http.serve(sockets=[http_sock]))

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, runtime.shutdown_requested.set)

    exit_code = 0
    app_task: asyncio.Task[None] | None = None
    try:
        await runtime.load_components()
        for service in list(runtime.services.values()):
            start = getattr(service, "start", None)
            if start is not None:
                await start()
        runtime.outbound_ready = True
        log.info("dapr initialized. Status: Running. gRPC %s:%s, HTTP %s:%s", addr, options.dapr_grpc_port, addr, options.dapr_http_port)
        app_task = asyncio.create_task(_wait_for_app(runtime))
        await runtime.shutdown_requested.wait()
        log.info("shutting down (graceful, up to %ss)", options.graceful_shutdown_seconds)
    except ComponentError as exc:
        log.critical("Fatal error from runtime: %s", exc)  # daprd's last line before exit 1
        exit_code = 1
    finally:
        runtime.outbound_ready = False
        if app_task is not None:
            app_task.cancel()
        grace = max(0.0, options.graceful_shutdown_seconds)
        await grpc_server.stop(min(grace, 1.0))
        http.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(http_task, timeout=max(grace, 0.5))
        await runtime.close()
    return exit_code
