"""Registers ``TaskHubSidecarService`` on the Dapr gRPC port (placeholder: filled by issue 4)."""

from __future__ import annotations

import inspect

import grpc
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as pb_grpc

from localdapr.api.grpc.base import abort
from localdapr.errors import not_supported
from localdapr.runtime import Runtime


class UnsupportedTaskHub(pb_grpc.TaskHubSidecarServiceServicer):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime


def _unsupported(name: str):  # type: ignore[no-untyped-def]
    async def handler(self, request, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
        await abort(context, not_supported(f"gRPC method TaskHubSidecarService/{name}"))

    handler.__name__ = name
    return handler


for _name, _fn in inspect.getmembers(pb_grpc.TaskHubSidecarServiceServicer, inspect.isfunction):
    if not _name.startswith("_"):
        setattr(UnsupportedTaskHub, _name, _unsupported(_name))


def register(runtime: Runtime, server: grpc.aio.Server) -> None:
    pb_grpc.add_TaskHubSidecarServiceServicer_to_server(UnsupportedTaskHub(runtime), server)
