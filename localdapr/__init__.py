"""A Dapr-compatible local sidecar for the cookbook, backed by real Redis.

It is the embedded default for users who have only pip (the real ``daprd`` comes from its Go
module through ``make daprd``, or from ``dapr init --slim``). It keeps daprd's observable
contract: flags, gRPC and HTTP APIs, Redis key layout and value encoding, error codes, checked by
running the same tests on both (``tests/``); deliberate differences are listed in
``localdapr/DIFFERENCES.md``.
"""

# The daprd release whose observable behaviour this sidecar follows (the runtime dapr SDK 1.18.3
# and dapr-agents 1.0.9 pair with). Reported as ``runtimeVersion`` /
# ``extended.daprRuntimeVersion`` so that SDK version checks (DaprChatClient requires >= 1.16)
# see a real version number.
RUNTIME_VERSION = "1.18.3"
# Reported under ``extended`` so nobody mistakes this process for the real daprd.
SIDECAR_NAME = "localdapr"
