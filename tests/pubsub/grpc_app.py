"""A gRPC app (``--app-protocol grpc``) implementing ``AppCallback``: it lists its subscriptions
and records every ``OnTopicEvent`` in Redis (``grpc-received:<topic>``), answering by topic:
SUCCESS, RETRY, DROP, an unknown status, an exception (gRPC UNKNOWN), UNIMPLEMENTED, or an empty
reply. A raw servicer rather than ``dapr.ext.grpc.App`` so the test sees the request's ``path``
and gRPC metadata exactly as the sidecar sent them."""

from __future__ import annotations

import json
import os
from concurrent import futures

import grpc
import redis
from dapr.proto.runtime.v1 import appcallback_pb2 as pb
from dapr.proto.runtime.v1 import appcallback_pb2_grpc
from google.protobuf import json_format

r = redis.Redis.from_url(os.environ["COUNTER_REDIS_URL"])
PUBSUB = "messagepubsub"
SUBSCRIPTIONS = [
    pb.TopicSubscription(pubsub_name=PUBSUB, topic="g-ok", metadata={"subkey": "subval"}),
    pb.TopicSubscription(pubsub_name=PUBSUB, topic="g-routed", routes=pb.TopicRoutes(default="/routed")),
    pb.TopicSubscription(pubsub_name=PUBSUB, topic="g-retry", dead_letter_topic="g-retry-dead"),
    pb.TopicSubscription(pubsub_name=PUBSUB, topic="g-drop", dead_letter_topic="g-drop-dead"),
    pb.TopicSubscription(pubsub_name=PUBSUB, topic="g-raise", dead_letter_topic="g-raise-dead"),
    pb.TopicSubscription(pubsub_name=PUBSUB, topic="g-unknown", dead_letter_topic="g-unknown-dead"),
    pb.TopicSubscription(pubsub_name=PUBSUB, topic="g-unimpl", dead_letter_topic="g-unimpl-dead"),
    pb.TopicSubscription(pubsub_name=PUBSUB, topic="g-empty", dead_letter_topic="g-empty-dead"),
    pb.TopicSubscription(pubsub_name=PUBSUB, topic="g-retry-nodl"),
    # Bulk: batches of at most 3, or what arrived within 300 ms; answered per entry by its data.
    pb.TopicSubscription(pubsub_name=PUBSUB, topic="g-bulk", dead_letter_topic="g-bulk-dead", routes=pb.TopicRoutes(default="/bulk"),
                         bulk_subscribe=pb.BulkSubscribeConfig(enabled=True, max_messages_count=3, max_await_duration_ms=300)),
]
BULK_ANSWERS = {"SUCCESS": pb.TopicEventResponse.SUCCESS, "RETRY": pb.TopicEventResponse.RETRY, "DROP": pb.TopicEventResponse.DROP,
                "UNKNOWN": 7}


class Callback(appcallback_pb2_grpc.AppCallbackServicer):
    def ListTopicSubscriptions(self, request, context):  # type: ignore[no-untyped-def]
        return pb.ListTopicSubscriptionsResponse(subscriptions=SUBSCRIPTIONS)

    def OnTopicEvent(self, request: pb.TopicEventRequest, context: grpc.ServicerContext):  # type: ignore[no-untyped-def]
        record = {
            "id": request.id, "source": request.source, "type": request.type, "spec_version": request.spec_version,
            "data_content_type": request.data_content_type, "data": request.data.decode(errors="replace"),
            "topic": request.topic, "pubsub_name": request.pubsub_name, "path": request.path,
            "extensions": json_format.MessageToDict(request.extensions),
            "metadata": {k: v for k, v in context.invocation_metadata() if k != "user-agent"},
        }
        r.rpush(f"grpc-received:{request.topic}", json.dumps(record))
        topic = request.topic
        if topic == "g-raise":
            raise RuntimeError("handler failed")
        if topic == "g-unimpl":
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"topic {topic} is not implemented!")
        if topic == "g-empty":
            return pb.TopicEventResponse()
        status = {"g-retry": pb.TopicEventResponse.RETRY, "g-retry-nodl": pb.TopicEventResponse.RETRY,
                  "g-drop": pb.TopicEventResponse.DROP, "g-unknown": 7}.get(topic, pb.TopicEventResponse.SUCCESS)
        return pb.TopicEventResponse(status=status)


class AlphaCallback(appcallback_pb2_grpc.AppCallbackAlphaServicer):
    """Only the Alpha1 bulk method: the sidecar must fall back to it (AppCallback's
    OnBulkTopicEvent answers UNIMPLEMENTED here)."""

    def OnBulkTopicEventAlpha1(self, request: pb.TopicEventBulkRequest, context: grpc.ServicerContext):  # type: ignore[no-untyped-def]
        entries = []
        statuses = []
        for entry in request.entries:
            ce = entry.cloud_event
            answer = json.loads(ce.data).get("answer", "SUCCESS") if ce.data else "SUCCESS"
            entries.append({"entry_id": entry.entry_id, "content_type": entry.content_type, "metadata": dict(entry.metadata),
                            "has_cloud_event": entry.HasField("cloud_event"), "id": ce.id, "source": ce.source, "type": ce.type,
                            "spec_version": ce.spec_version, "data_content_type": ce.data_content_type, "data": ce.data.decode(),
                            "extensions": json_format.MessageToDict(ce.extensions), "answer": answer})
            if answer != "NONE":
                statuses.append(pb.TopicEventBulkResponseEntry(entry_id=entry.entry_id, status=BULK_ANSWERS[answer]))
        r.rpush(f"grpc-bulk:{request.topic}", json.dumps({
            "id": request.id, "type": request.type, "topic": request.topic, "pubsub_name": request.pubsub_name, "path": request.path,
            "metadata": dict(request.metadata), "entries": entries,
            "grpc_metadata": {k: v for k, v in context.invocation_metadata() if k != "user-agent"}}))
        return pb.TopicEventBulkResponse(statuses=statuses)


server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
appcallback_pb2_grpc.add_AppCallbackServicer_to_server(Callback(), server)
appcallback_pb2_grpc.add_AppCallbackAlphaServicer_to_server(AlphaCallback(), server)
server.add_insecure_port(f"127.0.0.1:{os.environ['APP_PORT']}")
server.start()
server.wait_for_termination()
