"""gRPC GetMetadata, SetMetadata and Shutdown (spec E3, E4)."""

from __future__ import annotations

import asyncio

import grpc
from dapr.proto.runtime.v1 import dapr_pb2, metadata_pb2
from google.protobuf import empty_pb2

from localdapr import metadata
from localdapr.api.grpc.base import ServicerBase

_ACTOR_STATUS = {"INITIALIZING": 0, "DISABLED": 1, "RUNNING": 2}


def _health(doc: dict) -> metadata_pb2.AppConnectionHealthProperties:
    return metadata_pb2.AppConnectionHealthProperties(
        health_check_path=doc.get("healthCheckPath", ""), health_probe_interval=doc["healthProbeInterval"],
        health_probe_timeout=doc["healthProbeTimeout"], health_threshold=doc["healthThreshold"])


def to_proto(doc: dict) -> metadata_pb2.GetMetadataResponse:
    app = doc.get("appConnectionProperties", {})
    actors = doc.get("actorRuntime", {})
    resp = metadata_pb2.GetMetadataResponse(
        id=doc["id"],
        runtime_version=doc["runtimeVersion"],
        registered_components=[
            metadata_pb2.RegisteredComponents(name=c["name"], type=c["type"], version=c.get("version", ""), capabilities=c.get("capabilities", []))
            for c in doc.get("components", [])
        ],
        extended_metadata=doc.get("extended", {}),
        app_connection_properties=metadata_pb2.AppConnectionProperties(
            port=app.get("port", 0), protocol=app.get("protocol", ""), channel_address=app.get("channelAddress", ""),
            max_concurrency=app.get("maxConcurrency", 0),
            health=_health(app["health"]) if "health" in app else None,
        ),
        actor_runtime=metadata_pb2.ActorRuntime(
            runtime_status=_ACTOR_STATUS.get(actors.get("runtimeStatus", "DISABLED"), 1),
            host_ready=actors.get("hostReady", False),
            placement=actors.get("placement", ""),
        ),
    )
    for sub in doc.get("subscriptions", []):
        resp.subscriptions.append(
            metadata_pb2.PubsubSubscription(
                pubsub_name=sub.get("pubsubname", ""),
                topic=sub.get("topic", ""),
                metadata=sub.get("metadata", {}),
                dead_letter_topic=sub.get("deadLetterTopic", ""),
                type=metadata_pb2.PubsubSubscriptionType.Value(sub.get("type", "UNKNOWN")),
                rules=metadata_pb2.PubsubSubscriptionRules(
                    rules=[metadata_pb2.PubsubSubscriptionRule(match=r.get("match", ""), path=r.get("path", "")) for r in sub.get("rules", [])]
                ),
            )
        )
    if "workflows" in doc:
        resp.workflows.connected_workers = int(doc["workflows"].get("connectedWorkers", 0))
    return resp


class MetadataApi(ServicerBase):
    async def GetMetadata(self, request: object, context: grpc.aio.ServicerContext) -> metadata_pb2.GetMetadataResponse:
        return to_proto(metadata.build(self.runtime))

    async def SetMetadata(self, request: metadata_pb2.SetMetadataRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        self.runtime.extended_metadata[request.key] = request.value
        return empty_pb2.Empty()

    async def Shutdown(self, request: dapr_pb2.ShutdownRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        # Answer first, then stop: the caller gets its OK before the server goes away.
        asyncio.get_running_loop().call_later(0.05, self.runtime.shutdown_requested.set)
        return empty_pb2.Empty()
