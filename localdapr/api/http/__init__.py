"""HTTP API: the same operations as gRPC under daprd's routes."""
