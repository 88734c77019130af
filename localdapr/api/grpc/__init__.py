"""gRPC API: ``dapr.proto.runtime.v1.Dapr`` and ``TaskHubSidecarService`` on one port."""
