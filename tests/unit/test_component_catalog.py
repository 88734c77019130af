"""The component type catalog (localdapr/components/catalog.py) against dapr's Go source."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from localdapr.components import catalog, registry

DAPRD_GO_MODULE = Path.home() / "go/pkg/mod/github.com/dapr" / f"dapr@v{catalog.DAPRD_VERSION}"


def test_catalog_matches_daprds_source() -> None:
    """The generated type list is what scripts/gen_component_catalog.py reads from dapr's source."""
    if not DAPRD_GO_MODULE.is_dir():
        pytest.skip(f"dapr's Go module is not at {DAPRD_GO_MODULE} (it is there after 'make daprd')")
    spec = importlib.util.spec_from_file_location("gen_catalog", Path(__file__).parents[2] / "scripts" / "gen_component_catalog.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.scan(DAPRD_GO_MODULE) == (catalog.TYPES, catalog.BINDINGS)
    assert registry.daprd_knows("state.postgresql", "") and registry.daprd_knows("state.postgresql", "v2")
    assert not registry.daprd_knows("state.redis", "v2") and registry.daprd_knows("State.Redis", "V1")
