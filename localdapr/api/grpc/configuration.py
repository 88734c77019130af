"""gRPC Get/Subscribe/UnsubscribeConfiguration and their ``Alpha1`` names (daprd serves both).

The subscribe stream follows daprd's ``SubscribeConfiguration``: the first message carries only
the subscription id, then one message per change (``id`` + the changed items). It ends with OK
when UnsubscribeConfiguration stops it, and unsubscribes from the store when the client leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator

import grpc
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import configuration_pb2 as pb

from localdapr.api.grpc.base import ServicerBase, abort, translate_errors
from localdapr.configuration import service
from localdapr.configuration.redis_store import Item
from localdapr.errors import DaprError

log = logging.getLogger("localdapr.runtime.api")


def _items(items: dict[str, Item]) -> dict[str, common_pb2.ConfigurationItem]:
    return {k: common_pb2.ConfigurationItem(value=v.value, version=v.version, metadata=v.metadata) for k, v in items.items()}


class ConfigurationApi(ServicerBase):
    @translate_errors
    async def GetConfiguration(self, request: pb.GetConfigurationRequest, context: grpc.aio.ServicerContext) -> pb.GetConfigurationResponse:
        items = await service.get(self.runtime, request.store_name, list(request.keys))
        return pb.GetConfigurationResponse(items=_items(items))

    GetConfigurationAlpha1 = GetConfiguration

    async def SubscribeConfiguration(self, request: pb.SubscribeConfigurationRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.SubscribeConfigurationResponse]:
        try:
            store = service.get_store(self.runtime, request.store_name)
        except DaprError as err:
            await abort(context, err)
            return
        updates: asyncio.Queue[pb.SubscribeConfigurationResponse] = asyncio.Queue()

        async def handler(sub_id: str, items: dict[str, Item]) -> None:
            await updates.put(pb.SubscribeConfigurationResponse(id=sub_id, items=_items(items)))

        sub_id = await store.subscribe(sorted(request.keys), handler)
        registry = service.subscriptions(self.runtime)
        stop = registry.add(sub_id)
        try:
            yield pb.SubscribeConfigurationResponse(id=sub_id)
            stopped = asyncio.ensure_future(stop.wait())
            try:
                while True:
                    update = asyncio.ensure_future(updates.get())
                    done, _ = await asyncio.wait({update, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    if update not in done:
                        update.cancel()
                        return  # UnsubscribeConfiguration: the stream ends with OK, as daprd's
                    yield update.result()
            finally:
                stopped.cancel()
        finally:
            registry.discard(sub_id)
            with contextlib.suppress(KeyError):
                await store.unsubscribe(sub_id)

    SubscribeConfigurationAlpha1 = SubscribeConfiguration

    async def UnsubscribeConfiguration(self, request: pb.UnsubscribeConfigurationRequest, context: grpc.aio.ServicerContext) -> pb.UnsubscribeConfigurationResponse:
        """Deprecated in daprd, still served: stops the open stream with that id, whichever store
        it is on (the store name is not checked); an unknown id is ``ok: false`` with a message."""
        if not service.subscriptions(self.runtime).stop(request.id):
            return pb.UnsubscribeConfigurationResponse(ok=False, message=service.unsubscribe_message(request.id, "subscription does not exist"))
        log.warning("Unsubscribing using UnsubscribeConfiguration is deprecated. Disconnect from the SubscribeConfiguration RPC instead.")
        return pb.UnsubscribeConfigurationResponse(ok=True)

    UnsubscribeConfigurationAlpha1 = UnsubscribeConfiguration
