"""The durabletask protos vendored in the dapr workflow extension (the SDK's own wire format).

They live in ``dapr.ext.workflow._durabletask.internal``, and importing them the plain way first
runs ``dapr.ext.workflow/__init__``, which loads the whole SDK worker and client (about a third of
the sidecar's start-up, measured with ``python -X importtime``). The generated modules need only
protobuf, so :func:`_load_generated` imports them with those parent packages present in
``sys.modules`` as bare, unexecuted package objects, and removes them again afterwards: the
``*_pb2`` modules stay registered under their real names, so a later ordinary
``import dapr.ext.workflow`` (tests do it in the same process) runs the package normally and
reuses them, and the protobuf descriptor pool sees each file once.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

_PACKAGE = "dapr.ext.workflow._durabletask.internal"
_PARENTS = ("dapr.ext.workflow", "dapr.ext.workflow._durabletask", _PACKAGE)


def _load_generated(*names: str) -> list[ModuleType]:
    if "dapr.ext.workflow" in sys.modules:  # already imported for real: nothing to save
        return [importlib.import_module(f"{_PACKAGE}.{n}") for n in names]
    stubs: list[str] = []
    try:
        for parent in _PARENTS:
            if parent not in sys.modules:
                spec = importlib.util.find_spec(parent)
                if spec is None or spec.submodule_search_locations is None:
                    raise ImportError(f"{parent} is not installed (dapr-ext-workflow)")
                sys.modules[parent] = importlib.util.module_from_spec(spec)  # a package, not executed
                stubs.append(parent)
        return [importlib.import_module(f"{_PACKAGE}.{n}") for n in names]
    finally:
        for parent in stubs:
            del sys.modules[parent]


backend, history, orchestration, actions, service, service_grpc = _load_generated(
    "backend_service_pb2", "history_events_pb2", "orchestration_pb2", "orchestrator_actions_pb2",
    "orchestrator_service_pb2", "orchestrator_service_pb2_grpc",
)

S = orchestration  # status constants live here: S.ORCHESTRATION_STATUS_RUNNING, ...
TERMINAL = {
    orchestration.ORCHESTRATION_STATUS_COMPLETED,
    orchestration.ORCHESTRATION_STATUS_FAILED,
    orchestration.ORCHESTRATION_STATUS_TERMINATED,
}
