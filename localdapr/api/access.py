"""Who may call which Dapr API: the API token and the Configuration's ``spec.api`` lists.

Shared by the HTTP middleware and the gRPC interceptor so both layers decide alike, as daprd's
``APITokenAuthMiddleware`` / ``getAPIAuthenticationMiddlewares`` and its allow/deny lists
(``pkg/api/http/endpoints``, ``pkg/api/grpc/endpoints.go``) do:

* ``DAPR_API_TOKEN`` (read at start-up) guards every API except ``GET /v1.0/healthz`` and
  ``GET /v1.0/healthz/outbound``; every gRPC method needs it.
* HTTP rules (``protocol: http``, any case) match an endpoint by its group
  (``v1/state``, ``v1alpha1/workflows``...) or, the legacy way, by a prefix of
  ``<url version>/<route>`` (``v1.0/state``). A denied or not-allowed endpoint is not
  registered at all, so its path falls to daprd's fallback (service invocation).
* gRPC rules (``protocol: grpc``, exactly) name ``<name>.<version>`` groups of
  ``dapr.proto.runtime.v1.Dapr`` methods; only those methods are filtered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from localdapr.config.loader import ApiRule, Configuration

API_TOKEN_ENV = "DAPR_API_TOKEN"
APP_API_TOKEN_ENV = "APP_API_TOKEN"
TOKEN_HEADER = "dapr-api-token"
HEALTH_PATHS = ("v1.0/healthz", "v1.0/healthz/outbound")

_URL_VERSIONS = {"v1.0": "v1", "v1.0-alpha1": "v1alpha1", "v1.0-alpha2": "v1alpha2", "v1.0-beta1": "v1beta1"}
_PREFIX = "/dapr.proto.runtime.v1.Dapr/"
GRPC_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "invoke.v1": ("InvokeService",),
    "state.v1": ("GetState", "GetBulkState", "SaveState", "DeleteState", "DeleteBulkState", "ExecuteStateTransaction"),
    "state.v1alpha1": ("QueryStateAlpha1",),
    "publish.v1": ("PublishEvent", "BulkPublishEvent"),
    "publish.v1alpha1": ("BulkPublishEventAlpha1",),
    "bindings.v1": ("InvokeBinding",),
    "secrets.v1": ("GetSecret", "GetBulkSecret"),
    "actors.v1": ("RegisterActorTimer", "UnregisterActorTimer", "RegisterActorReminder", "GetActorReminder",
                  "UnregisterActorReminder", "UnregisterActorRemindersByType", "ListActorReminders", "GetActorState",
                  "ExecuteActorStateTransaction", "InvokeActor"),
    "actors.v1alpha1": ("SubscribeActorEventsAlpha1",),
    "metadata.v1": ("GetMetadata", "SetMetadata"),
    "configuration.v1alpha1": ("GetConfigurationAlpha1", "SubscribeConfigurationAlpha1", "UnsubscribeConfigurationAlpha1"),
    "configuration.v1": ("GetConfiguration", "SubscribeConfiguration", "UnsubscribeConfiguration"),
    "lock.v1alpha1": ("TryLockAlpha1",),
    "unlock.v1alpha1": ("UnlockAlpha1",),
    "subtlecrypto.v1alpha1": ("SubtleGetKeyAlpha1", "SubtleEncryptAlpha1", "SubtleDecryptAlpha1", "SubtleSignAlpha1",
                              "SubtleVerifyAlpha1", "SubtleWrapKeyAlpha1", "SubtleUnwrapKeyAlpha1"),
    "crypto.v1alpha1": ("EncryptAlpha1", "DecryptAlpha1"),
    "workflows.v1alpha1": ("StartWorkflowAlpha1", "GetWorkflowAlpha1", "TerminateWorkflowAlpha1", "RaiseEventWorkflowAlpha1",
                           "PurgeWorkflowAlpha1", "PauseWorkflowAlpha1", "ResumeWorkflowAlpha1"),
    "workflows.v1beta1": ("StartWorkflowBeta1", "GetWorkflowBeta1", "TerminateWorkflowBeta1", "RaiseEventWorkflowBeta1",
                          "PurgeWorkflowBeta1", "PauseWorkflowBeta1", "ResumeWorkflowBeta1"),
    "jobs.v1alpha1": ("ScheduleJobAlpha1", "DeleteJobAlpha1", "GetJobAlpha1", "DeleteJobsByPrefixAlpha1", "ListJobsAlpha1"),
    "jobs.v1": ("ScheduleJob", "DeleteJob", "GetJob", "DeleteJobsByPrefix", "ListJobs"),
    "shutdown.v1": ("Shutdown",),
    "subscribe.v1alpha1": ("SubscribeTopicEventsAlpha1",),
    "conversation.v1alpha1": ("ConverseAlpha1",),
    "conversation.v1alpha2": ("ConverseAlpha2",),
}


def _grpc_methods(rules: list[ApiRule]) -> set[str]:
    return {_PREFIX + m for r in rules if r.protocol == "grpc" for m in GRPC_ENDPOINTS.get(f"{r.name}.{r.version}", ())}


def _http_keys(rules: list[ApiRule]) -> set[str]:
    return {f"{r.version}/{r.name}" for r in rules if r.protocol.lower() == "http"}


@dataclass
class AccessPolicy:
    token: str = ""
    http_allowed: set[str] = field(default_factory=set)
    http_denied: set[str] = field(default_factory=set)
    grpc_allowed: set[str] = field(default_factory=set)
    grpc_denied: set[str] = field(default_factory=set)

    @classmethod
    def build(cls, config: Configuration, env: dict[str, str] | None = None) -> "AccessPolicy":
        env = dict(os.environ) if env is None else env
        return cls(
            token=env.get(API_TOKEN_ENV, ""),
            http_allowed=_http_keys(config.api_allowed), http_denied=_http_keys(config.api_denied),
            grpc_allowed=_grpc_methods(config.api_allowed), grpc_denied=_grpc_methods(config.api_denied),
        )

    @property
    def has_grpc_lists(self) -> bool:
        return bool(self.grpc_allowed or self.grpc_denied)

    @property
    def has_http_lists(self) -> bool:
        return bool(self.http_allowed or self.http_denied)

    # ---- token ---------------------------------------------------------------------------------
    def http_token_ok(self, method: str, path: str, given: str | None) -> bool:
        if not self.token or given == self.token:
            return True
        return method == "GET" and path.strip("/") in HEALTH_PATHS

    def grpc_token_problem(self, values: list[str]) -> str | None:
        """daprd's ``checkAPITokenInContext`` detail, or None when the call may go on."""
        if not self.token:
            return None
        if not values:
            return "missing api token in request metadata"
        if values[0] != self.token:
            return "authentication error: api token mismatch"
        return None

    # ---- allow / deny lists --------------------------------------------------------------------
    def http_path_allowed(self, path: str) -> bool:
        """Would daprd have registered the endpoint serving ``path``?"""
        if not self.has_http_lists:
            return True
        parts = path.strip("/").split("/")
        if len(parts) < 2 or parts[0] not in _URL_VERSIONS:
            return True  # not a Dapr API path: daprd's fallback serves it either way
        if parts[1] == "healthz":
            return True  # AlwaysAllowed
        group_key = f"{_URL_VERSIONS[parts[0]]}/{parts[1]}"
        legacy = path.strip("/")

        def matches(keys: set[str]) -> bool:
            return group_key in keys or any(legacy.startswith(k) for k in keys)

        if self.http_denied and matches(self.http_denied):
            return False
        return not self.http_allowed or matches(self.http_allowed)

    def grpc_method_allowed(self, full_method: str) -> bool:
        if not full_method.startswith("/dapr.proto.runtime."):
            return True
        if full_method in self.grpc_denied:
            return False
        return not self.grpc_allowed or full_method in self.grpc_allowed
