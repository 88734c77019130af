"""pyproject.toml (pip users) and environment.yml (conda users) must pin the same versions."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower()] = version.strip()
    return pins


def test_pyproject_and_environment_pin_the_same_versions() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert all("==" in dep for dep in project), "every pyproject dependency is pinned exactly"
    assert _pins(project) == _pins([d for d in pip_section if not d.startswith("-")])
    assert "python=3.11" in env["dependencies"]


def test_the_required_pins_are_present() -> None:
    pins = _pins(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    assert pins["dapr-agents"] == "1.0.9"
    assert pins["dapr"].startswith("1.18.") and pins["dapr-ext-workflow"].startswith("1.18.")
    for name in ("jupyterlab", "nbmake", "papermill", "redis", "playwright"):
        assert name in pins
