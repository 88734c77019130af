"""Durable workflow engine (Dapr Workflows) on Redis, served as ``TaskHubSidecarService``."""
