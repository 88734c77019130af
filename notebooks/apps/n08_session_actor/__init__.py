"""Notebook 08's actor app (``app.py``) and the interface its callers share (``interface.py``)."""
