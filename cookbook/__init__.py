"""Helper library for the Dapr Agents state-patterns cookbook.

Notebooks import it so they show the pattern, not the plumbing: ports, processes (Redis, the
sidecar, agent apps), results files and notebook rules live here.
"""
