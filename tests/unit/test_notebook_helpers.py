"""The helpers notebooks show their evidence with: tables, timelines, log excerpts, parameters, paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from cookbook import params
from cookbook.display import Table, natural_key
from cookbook.logs import log_excerpt, parse_line, strip_ansi
from cookbook.paths import BUILD, ROOT, notebook_output_dir
from cookbook.timeline import Timeline


def test_natural_order_puts_2_before_10() -> None:
    keys = ["orders||order-10", "orders||order-2", "orders||order-1"]
    assert sorted(keys, key=natural_key) == ["orders||order-1", "orders||order-2", "orders||order-10"]


def test_table_renders_html_escaped_and_text_aligned() -> None:
    table = Table([{"redis key": "orders||order-1", "data": "<b>x</b>"}, {"redis key": "k", "data": None}], title="t")
    html = table._repr_html_()
    assert "orders||order-1" in html and "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    lines = str(table).splitlines()
    assert lines[0] == "t" and lines[1].split() == ["redis", "key", "data"]
    assert lines[3].index("<b>") == lines[1].index("data")  # columns line up
    assert table.column("data") == ["<b>x</b>", None]


def test_timeline_downtime_and_counters() -> None:
    tl = Timeline("t")
    tl.mark("sidecar", "running", pid=1)
    tl.mark("sidecar", "kill -9", pid=1, down=True)
    tl.mark("client", "read", status="connection refused", tool_runs=1)
    tl.mark("sidecar", "restarted", pid=2, down=False)
    (start, end), = tl.downtime("sidecar")
    assert start == tl.marks[1].seconds and end == tl.marks[3].seconds
    assert tl.downtime("client") == []
    table = tl.table()
    assert table.columns == ["t s", "process", "action", "pid", "status", "tool_runs"]
    assert table.column("status") == ["", "", "connection refused", ""]
    assert table.column("tool_runs") == ["", "", 1, ""]


def test_timeline_chart_is_saved(tmp_path: Path) -> None:
    tl = Timeline("t")
    tl.mark("redis", "kill -9", down=True)
    tl.mark("redis", "restarted", down=False)
    tl.chart(tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_log_lines_parsed_from_daprd_python_and_plain() -> None:
    daprd = 'time="2026-11-26T13:40:28.812015Z" level=warning msg="x::4::1: will be retried later: aborted" app_id=a scope=s'
    assert parse_line(daprd) == {"time": "13:40:28.812", "level": "warning", "msg": "x::4::1: will be retried later: aborted"}
    python = "2026-11-26 14:16:04.704 durabletask-worker WARNING: Connection failed, retrying in 2.16 seconds (attempt 1)"
    assert parse_line(python) == {"time": "14:16:04.704", "level": "warning", "msg": "Connection failed, retrying in 2.16 seconds (attempt 1)"}
    assert parse_line("plain") == {"time": "", "level": "", "msg": "plain"}
    assert strip_ansi("\x1b[32mINFO\x1b[0m ok") == "INFO ok"


def test_log_excerpt_filters_and_starts_after(tmp_path: Path) -> None:
    log = tmp_path / "s.log"
    log.write_text("===== start sidecar:a: daprd\nnoise\nrun one retried\n===== start sidecar:a: daprd\n\x1b[33mrun two retried\x1b[0m\n")
    rows = log_excerpt(log, ["retried"]).column("msg")
    assert rows == ["▶ (re)started: sidecar", "run one retried", "▶ (re)started: sidecar", "run two retried"]
    assert log_excerpt(log, ["retried"], after="run two").column("msg") == ["run two retried"]


@pytest.mark.parametrize("rule,good,bad", [
    (params.int_between(1, 10), 3, [0, 11, "3", 2.5, True]),
    (params.number_between(10, 600), 60, [0, "60", None]),
    (params.one_of("a", "b"), "a", ["c", None]),
    (params.app_id(), "weather-app", ["Weather", "-x", "a_b", "", "a" * 64]),
    (params.redis_url(), "", ["localhost:6379", "http://x"]),
    (params.text(5), "Paris", ["", "Lisbon!", "a\nb"]),
])
def test_parameter_rules(rule, good, bad) -> None:  # type: ignore[no-untyped-def]
    assert rule(good) is None
    for value in bad:
        assert rule(value), value


def test_validate_reports_every_bad_parameter_at_once() -> None:
    with pytest.raises(params.ParameterError) as err:
        params.validate(a=(0, params.int_between(1, 2)), b=(1, params.int_between(1, 2)), c=("x", params.one_of("y")))
    assert "parameter a=0: must be from 1 to 2" in str(err.value) and "parameter c='x': must be one of 'y'" in str(err.value)
    assert "parameter b" not in str(err.value)


def test_output_dir_defaults_to_the_repository_build_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert notebook_output_dir("01_x") == BUILD / "notebooks" / "01_x" and BUILD == ROOT / "build"
    assert notebook_output_dir("01_x", "out") == tmp_path / "out"  # a relative path the user typed: from the cwd
