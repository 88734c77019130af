"""Shared pytest fixtures.

TEMPORARY minimal Redis fixture so building-block tests can start today; issue 2 replaces it
with the cookbook's process harness (cookbook.redis_server / cookbook.processes).
"""
