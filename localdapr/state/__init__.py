"""State building block: daprd's key prefixing and the Redis state store."""
