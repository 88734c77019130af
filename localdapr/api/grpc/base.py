"""Shared pieces of the gRPC servicers: error translation and the "not supported" default.

Each building block contributes a mixin class with the ``Dapr`` RPCs it implements; the
composed servicer (``dapr_service.py``) ends with :class:`UnsupportedDapr`, which answers
every RPC nobody implemented with UNIMPLEMENTED and a message saying so, never silently.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Awaitable, Callable

import grpc
from dapr.proto.runtime.v1 import dapr_pb2_grpc

from localdapr.errors import DaprError, not_supported
from localdapr.runtime import Runtime


class ServicerBase:
    """Gives mixins ``self.runtime``."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime


async def abort(context: grpc.aio.ServicerContext, error: DaprError) -> None:
    """Abort the call with daprd's status code, message and rich details."""
    await context.abort_with_status(error.grpc_status())


def translate_errors(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Decorator for unary RPCs: a DaprError becomes the matching gRPC status."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except DaprError as err:
            await abort(context, err)

    return wrapper


# Request fields that name a component; ``name`` only where it is one (not a job's or an actor's).
_COMPONENT_FIELDS = ("store_name", "pubsub_name", "component_name")
_NAME_IS_COMPONENT = ("InvokeBinding", "ConverseAlpha1", "ConverseAlpha2")


# The building block of a request, from the proto file it is declared in.
_PROTO_CATEGORY = {"binding": "bindings", "crypto": "crypto", "state": "state", "ai": "conversation", "pubsub": "pubsub",
                   "secret": "secretstores", "configuration": "configuration", "lock": "lock"}


def _named_component(method: str, request: Any) -> tuple[str, str | None]:
    """(component, building block) a unary request names; ('', None) for none or a stream."""
    descriptor = getattr(request, "DESCRIPTOR", None)
    fields = getattr(descriptor, "fields_by_name", {})
    proto = descriptor.file.name.rsplit("/", 1)[-1].removesuffix(".proto") if descriptor is not None else ""
    for field in _COMPONENT_FIELDS + (("name",) if method in _NAME_IS_COMPONENT else ()):
        value = getattr(request, field, "") if field in fields else ""
        if isinstance(value, str) and value:
            return value, _PROTO_CATEGORY.get(proto)
    return "", None


def _unsupported(name: str) -> Callable[..., Any]:
    async def handler(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        # A component the resources folder loaded but the local sidecar does not implement is
        # named in the answer (e.g. InvokeBinding on bindings.cron); anything else is the API.
        missing = self.runtime.not_implemented(*_named_component(name, request)) if hasattr(self, "runtime") else None
        await abort(context, missing or not_supported(f"gRPC method dapr.proto.runtime.v1.Dapr/{name}"))

    handler.__name__ = name
    return handler


class UnsupportedDapr(dapr_pb2_grpc.DaprServicer):
    """Every Dapr RPC, answering UNIMPLEMENTED "... not supported by the local sidecar"."""


for _name, _fn in inspect.getmembers(dapr_pb2_grpc.DaprServicer, inspect.isfunction):
    if not _name.startswith("_"):
        setattr(UnsupportedDapr, _name, _unsupported(_name))
