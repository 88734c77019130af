"""An actor service and client modelled on dapr/python-sdk's ``examples/demo_actor`` (same actor,
methods, prints and flow; shorter reminder/timer periods so the test waits seconds, not 12)."""
