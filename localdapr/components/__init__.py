"""Component manifests: loading from ``--resources-path`` and the building-block registry."""
