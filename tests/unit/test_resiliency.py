"""localdapr's Resiliency reader: Go durations, retry delays, targets and scopes."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest

from localdapr import resiliency


@pytest.mark.parametrize("text, seconds", [("300ms", 0.3), ("1m30s", 90.0), ("2h", 7200.0), ("0", 0.0), ("1.5s", 1.5), ("250us", 0.00025)])
def test_go_durations(text: str, seconds: float) -> None:
    assert resiliency.go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "1x", "ms"])
def test_bad_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match="time: invalid duration"):
        resiliency.go_duration(text)


def test_constant_and_exponential_delays() -> None:
    constant = resiliency.RetryPolicy.parse("c", {"policy": "constant", "duration": "200ms", "maxRetries": 3})
    assert list(constant.delays()) == [0.2, 0.2, 0.2]
    endless = resiliency.RetryPolicy.parse("e", {"policy": "exponential", "maxInterval": "2s"})
    delays = list(itertools.islice(endless.delays(), 12))  # maxRetries -1: no end
    assert len(delays) == 12 and all(0 < d <= 3.0 for d in delays)  # within maxInterval plus randomisation 0.5
    assert 0.25 <= delays[0] <= 0.75  # 500 ms +- 50 %


def test_targets_scopes_and_bad_documents(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a.yaml").write_text("""\
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: mine}
spec:
  policies: {retries: {r: {policy: constant, duration: 1s, maxRetries: 1}}}
  targets: {components: {bus: {inbound: {retry: r}}}}
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: theirs}
scopes: [other-app]
spec:
  policies: {retries: {r: {policy: constant, maxRetries: 9}}}
  targets: {components: {bus2: {inbound: {retry: r}}}}
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: broken}
spec:
  targets: {components: {bus3: {inbound: {retry: missing}}}}
""")
    (tmp_path / "b.yaml").write_text("kind: [unclosed")
    with caplog.at_level(logging.INFO, logger="localdapr.runtime"):
        loaded = resiliency.load([tmp_path], "my-app")
    assert set(loaded.inbound_retries) == {"bus"} and loaded.inbound_retry("bus").max_retries == 1
    assert loaded.inbound_retry("bus2") is None and loaded.inbound_retry("bus3") is None
    assert "Loading Resiliency configuration: mine" in caplog.text
    assert "retry policy 'missing' of component 'bus3' is not defined" in caplog.text
