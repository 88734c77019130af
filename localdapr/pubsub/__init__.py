"""Pub/sub: ``pubsub.redis`` on Redis Streams, CloudEvents, subscriptions (spec F)."""
