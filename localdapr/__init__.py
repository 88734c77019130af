"""A Dapr-compatible local sidecar for the cookbook, backed by real Redis.

It exists because the real ``daprd`` cannot be installed where the cookbook runs (no network
beyond package registries, no Docker). It keeps daprd's observable contract: flags, gRPC and
HTTP APIs, Redis key layout and value encoding, error codes. See
``../shared/reference/dapr-runtime-spec.md`` for the behaviours and their upstream references.
"""

# The daprd release whose observable behaviour this sidecar follows. Reported as
# ``runtimeVersion`` / ``extended.daprRuntimeVersion`` so that SDK version checks
# (DaprChatClient requires >= 1.16) see a real version number.
RUNTIME_VERSION = "1.17.13"
# Reported under ``extended`` so nobody mistakes this process for the real daprd.
SIDECAR_NAME = "localdapr"
