"""Secret stores: ``secretstores.local.file`` and ``secretstores.local.env`` (spec A3)."""
