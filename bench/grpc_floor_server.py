"""The cheapest possible Dapr GetState over Python gRPC: a grpc.aio server that answers a constant.

``bench_state.py`` measures it with the same DaprClient as the sidecar, so the figures separate
what Python gRPC itself costs on this machine (client and server) from what the sidecar adds
(store lookup, key prefixing, the Redis round trip). Run by the benchmark, not by hand:
``python bench/grpc_floor_server.py PORT``.
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from dapr.proto.runtime.v1 import dapr_pb2_grpc
from dapr.proto.runtime.v1 import state_pb2


class ConstantState(dapr_pb2_grpc.DaprServicer):
    async def GetState(self, request: state_pb2.GetStateRequest, context: grpc.aio.ServicerContext) -> state_pb2.GetStateResponse:
        return state_pb2.GetStateResponse(data=b'{"id": 1}', etag="1")


async def main(port: int) -> None:
    server = grpc.aio.server()
    dapr_pb2_grpc.add_DaprServicer_to_server(ConstantState(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    print("ready", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
