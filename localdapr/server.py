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

from localdapr.api.grpc.dapr_service import DaprService
from localdapr.api.http.app import build_app
from localdapr.errors import ComponentError
from localdapr.options import SidecarOptions
from localdapr.pubsub.outbox import Outbox
from localdapr.pubsub.subscriptions import SubscriptionManager
from localdapr.runtime import Runtime
from localdapr.workflow import grpc_service as workflow_grpc

log = logging.getLogger("localdapr.runtime")

GRPC_MAX_MESSAGE = 64 * 1024 * 1024


class _QuietUvicorn(uvicorn.Server):
    """uvicorn without its own signal handlers: the sidecar owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _wait_for_app(runtime: Runtime) -> None:
    """Mark the app ready once its port accepts TCP connections (the app channel)."""
    opts = runtime.options
    if opts.app_port is None:
        runtime.app_ready = True
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
    for hook in runtime.services.values():
        on_app_ready = getattr(hook, "on_app_ready", None)
        if on_app_ready is not None:
            await on_app_ready()


async def serve(options: SidecarOptions) -> int:
    runtime = Runtime(options)
    addr = options.listen_address

    grpc_server = grpc.aio.server(
        options=[
            ("grpc.max_send_message_length", GRPC_MAX_MESSAGE),
            ("grpc.max_receive_message_length", GRPC_MAX_MESSAGE),
            ("grpc.so_reuseport", 0),
        ]
    )
    dapr_pb2_grpc.add_DaprServicer_to_server(DaprService(runtime), grpc_server)
    workflow_grpc.register(runtime, grpc_server)
    runtime.services["subscriptions"] = SubscriptionManager(runtime)
    runtime.services["outbox"] = Outbox(runtime)
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
        uvicorn.Config(build_app(runtime), log_level="warning", lifespan="off", access_log=False, loop="none")
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
