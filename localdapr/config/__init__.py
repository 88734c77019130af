"""The Configuration file (``--config``): loading, validation and what it enforces."""
