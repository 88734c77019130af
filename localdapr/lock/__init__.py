"""The distributed lock building block (alpha): ``lock.redis`` and the API behaviour around it."""
