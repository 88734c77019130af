"""The configuration building block: ``configuration.redis`` and the API behaviour around it."""
