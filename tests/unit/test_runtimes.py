"""Which runtimes a sidecar test runs on: the daprd half is skipped with a way to get daprd, or
fails when the run requires daprd (``make test`` with Go on PATH, i.e. CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cookbook import sidecar as sidecar_module
from tests.runtimes import REQUIRE_ENV, require_runtime


@pytest.fixture
def no_daprd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sidecar_module, "PROJECT_DAPR_BIN", tmp_path / "no-build")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("DAPRD", raising=False)
    monkeypatch.delenv("DAPR_RUNTIME_PATH", raising=False)


def test_without_daprd_the_daprd_half_is_skipped_saying_how_to_get_it(no_daprd: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"make daprd.*Go 1\.26.*dapr init --slim"):
        require_runtime("daprd")
    require_runtime("local")  # the local half always runs


def test_when_daprd_is_required_its_absence_fails(no_daprd: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="COOKBOOK_REQUIRE_DAPRD=1 but no daprd found"):
        require_runtime("daprd")
