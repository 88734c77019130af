"""Fixtures of the browser test: one JupyterLab server and one headless Chromium per run."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from cookbook.ports import free_port_block
from tests.browser.lab import ROOT, Lab

# Debian's chromium, installed by scripts/install-chromium.sh (make test runs it). Playwright's
# own browser download (`playwright install`) is never used: its host is not reachable from CI.
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
OUT = ROOT / "build" / "browser"

# As the machine's own browser checks run it: headless as root (no sandbox), and no background
# requests to Google's hosts, which a closed network refuses many at a time.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_out() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


@pytest.fixture(scope="session")
def lab(browser_out: Path) -> Iterator[Lab]:
    workdir = Path(tempfile.mkdtemp(prefix="browser-lab-"))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # one Lab per xdist worker, each its own log
    server = Lab(free_port_block().take(), workdir, browser_out / f"jupyterlab{'-' + worker if worker else ''}.log")
    try:
        server.start()
        yield server
    finally:
        killed = server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if killed:
            print(f"\nbrowser test: killed kernels JupyterLab left running: {', '.join(killed)}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-chromium.sh as root (make test does), or set CHROMIUM")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
