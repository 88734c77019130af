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
]


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


server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
appcallback_pb2_grpc.add_AppCallbackServicer_to_server(Callback(), server)
server.add_insecure_port(f"127.0.0.1:{os.environ['APP_PORT']}")
server.start()
server.wait_for_termination()
