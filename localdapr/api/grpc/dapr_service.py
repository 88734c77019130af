"""The composed ``dapr.proto.runtime.v1.Dapr`` servicer.

One mixin per building block, each in its own module, so a building block's RPCs live next to
each other; whatever no mixin defines resolves to :class:`UnsupportedDapr` (UNIMPLEMENTED).
"""

from __future__ import annotations

from localdapr.api.grpc.actors import ActorsApi
from localdapr.api.grpc.base import UnsupportedDapr
from localdapr.api.grpc.configuration import ConfigurationApi
from localdapr.api.grpc.conversation import ConversationApi
from localdapr.api.grpc.lock import LockApi
from localdapr.api.grpc.metadata import MetadataApi
from localdapr.api.grpc.pubsub import PubSubApi
from localdapr.api.grpc.secrets import SecretsApi
from localdapr.api.grpc.state import StateApi
from localdapr.api.grpc.workflow import WorkflowApi


class DaprService(ActorsApi, StateApi, SecretsApi, MetadataApi, PubSubApi, ConversationApi, ConfigurationApi, LockApi, WorkflowApi,
                  UnsupportedDapr):
    """All Dapr RPCs the local sidecar serves."""
