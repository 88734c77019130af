"""The durabletask protos vendored in the dapr workflow extension (the SDK's own wire format)."""

from dapr.ext.workflow._durabletask.internal import backend_service_pb2 as backend  # noqa: F401
from dapr.ext.workflow._durabletask.internal import history_events_pb2 as history  # noqa: F401
from dapr.ext.workflow._durabletask.internal import orchestration_pb2 as orchestration  # noqa: F401
from dapr.ext.workflow._durabletask.internal import orchestrator_actions_pb2 as actions  # noqa: F401
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2 as service  # noqa: F401
from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as service_grpc  # noqa: F401

S = orchestration  # status constants live here: S.ORCHESTRATION_STATUS_RUNNING, ...
TERMINAL = {
    orchestration.ORCHESTRATION_STATUS_COMPLETED,
    orchestration.ORCHESTRATION_STATUS_FAILED,
    orchestration.ORCHESTRATION_STATUS_TERMINATED,
}
