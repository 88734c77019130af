"""Run the same small workflows on daprd and on the local sidecar and diff every Redis key written.

Why: "daprd is the truth" for the actor state store layout too. This runs the same workflows
on a fresh Redis per runtime (``chain``: custom status + two activities; ``counter``: three
continue-as-new; ``sleeper``: a durable timer; ``parent``: one child workflow; ``versioned``: a
named version with a patch; ``propagating``: history propagated to a child and an activity),
dumps every key
(type, hash fields, ``version``, TTL) with protobuf values decoded by key name, replaces
timestamps and UUIDs by placeholders, and prints what differs. Usage::

    .venv/bin/python scripts/compare_workflow_keys.py [--runtime daprd|local|both] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from google.protobuf import json_format, wrappers_pb2  # noqa: E402

from cookbook.ports import free_port_block  # noqa: E402
from cookbook.redis_server import RedisServer  # noqa: E402
from cookbook.services import prepare_resources  # noqa: E402
from cookbook.sidecar import Sidecar  # noqa: E402
from localdapr.workflow.protos import backend, history  # noqa: E402

APP = "cmpapp"


def decode(key: str, data: bytes) -> Any:
    """A workflow row's value as JSON-able data, chosen by the key's last segment."""
    leaf = key.rsplit("||", 1)[-1]
    try:
        if leaf == "metadata":
            return json_format.MessageToDict(backend.BackendWorkflowStateMetadata.FromString(data))
        if leaf == "customStatus":
            return json_format.MessageToDict(wrappers_pb2.StringValue.FromString(data))
        if re.match(r"(history|inbox)-\d{6}$", leaf):
            return json_format.MessageToDict(history.HistoryEvent.FromString(data))
        if leaf == "propagated-history":  # the chunks' raw events decoded, so timestamps normalise
            ph = history.PropagatedHistory.FromString(data)
            out = json_format.MessageToDict(ph)
            for chunk, raw in zip(out.get("chunks", []), ph.chunks):
                chunk["rawEvents"] = [json_format.MessageToDict(history.HistoryEvent.FromString(e)) for e in raw.rawEvents]
            return out
    except Exception as exc:  # noqa: BLE001 - show what could not be decoded
        return f"<undecodable {leaf}: {exc}>"
    try:
        return json.loads(data)
    except ValueError:
        return repr(data[:200])


_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")
_TS = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+Z")


def normalise(value: Any) -> Any:
    """Timestamps and UUIDs differ run to run: keep only their shape (dashed UUID or not)."""
    text = json.dumps(value, sort_keys=True)
    text = _TS.sub("<ts>", text)
    text = _UUID.sub(lambda m: "<uuid>" if "-" in m.group(0) else "<hex-uuid>", text)
    return json.loads(text)


def dump(client: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for raw in sorted(client.scan_iter(match="*", count=1000)):
        key = raw.decode(errors="replace")
        kind = client.type(raw).decode()
        entry: dict[str, Any] = {"type": kind, "ttl": client.ttl(raw)}
        if kind == "hash":
            fields = {f.decode(): v for f, v in client.hgetall(raw).items()}
            entry["fields"] = sorted(fields)
            entry["version"] = fields.get("version", b"").decode()
            if "data" in fields:
                entry["value"] = decode(key, fields["data"])
        elif kind == "zset":
            entry["members"] = [m.decode() for m in client.zrange(raw, 0, -1)]
        out[key] = entry
    return out


def run(runtime: str) -> dict[str, Any]:
    import dapr.ext.workflow as wf

    tmp = Path(tempfile.mkdtemp(prefix=f"cmp-{runtime}-"))
    ports = free_port_block(40)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    resources = prepare_resources(ROOT / "components" / "01-redis-state-store", tmp / "resources", server)
    sidecar = Sidecar(APP, [resources], ports, tmp / "run", runtime=runtime)
    rt = None
    try:
        sidecar.start()
        rt = wf.WorkflowRuntime(host="127.0.0.1", port=str(sidecar.grpc_port))

        @rt.activity(name="greet")
        def greet(ctx, name: str) -> str:  # type: ignore[no-untyped-def]
            return f"Hello {name}"

        @rt.workflow(name="chain")
        def chain(ctx, _):  # type: ignore[no-untyped-def]
            ctx.set_custom_status("working")
            a = yield ctx.call_activity(greet, input="a")
            b = yield ctx.call_activity(greet, input="b")
            return [a, b]

        @rt.workflow(name="counter")
        def counter(ctx, n: int):  # type: ignore[no-untyped-def]
            if n < 3:
                ctx.continue_as_new(n + 1)
                return None
            return n

        @rt.workflow(name="sleeper")
        def sleeper(ctx, _):  # type: ignore[no-untyped-def]
            yield ctx.create_timer(timedelta(seconds=0.5))
            return "woke"

        @rt.workflow(name="parent")
        def parent(ctx, _):  # type: ignore[no-untyped-def]
            return (yield ctx.call_child_workflow(sleeper, input=None, instance_id="cmp-child"))

        def versioned(ctx, _):  # type: ignore[no-untyped-def]
            a = yield ctx.call_activity(greet, input="v2" if ctx.is_patched("p1") else "v1")
            b = yield ctx.call_activity(greet, input="again")
            return [a, b]

        rt.register_versioned_workflow(versioned, name="versioned", version_name="v2", is_latest=True)

        @rt.workflow(name="propagating")
        def propagating(ctx, _):  # type: ignore[no-untyped-def]
            yield ctx.call_activity(greet, input="first")
            yield ctx.call_child_workflow(chain, input=None, instance_id="cmp-prop-child", propagation=wf.PropagationScope.OWN_HISTORY)
            return (yield ctx.call_activity(greet, input="audit", propagation=wf.PropagationScope.LINEAGE))

        rt.start()
        client = wf.DaprWorkflowClient(host="127.0.0.1", port=str(sidecar.grpc_port))
        for name, iid, arg in (("chain", "cmp-chain", {"x": 1}), ("counter", "cmp-can", 0), ("sleeper", "cmp-timer", None),
                               ("parent", "cmp-parent", None), ("versioned", "cmp-versioned", None),
                               ("propagating", "cmp-propagating", None)):
            client.schedule_new_workflow(name, input=arg, instance_id=iid)
            state = client.wait_for_workflow_completion(iid, timeout_in_seconds=60)
            assert state is not None and state.runtime_status == wf.WorkflowStatus.COMPLETED, state
        # The local sidecar's app directory (placement's stand-in, localdapr/workflow/directory.py)
        # lives while its sidecar runs: a deliberate difference, not part of the store's layout.
        return {k: v for k, v in dump(server.client()).items() if not k.startswith("localdapr||directory||")}
    finally:
        if rt is not None:
            rt.shutdown()
        sidecar.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # daprd's scheduler data: 64 MB of etcd WAL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", choices=["daprd", "local", "both"], default="both")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runtimes = ["daprd", "local"] if args.runtime == "both" else [args.runtime]
    dumps = {r: run(r) for r in runtimes}
    if args.json:
        args.json.write_text(json.dumps(dumps, indent=1, default=str))
    for runtime, keys in dumps.items():
        print(f"===== {runtime}: {len(keys)} keys")
        for key, entry in keys.items():
            print(key, json.dumps(entry, default=str))
    if len(dumps) == 2:
        sys.exit(1 if report_differences(dumps["daprd"], dumps["local"]) else 0)


def report_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Print the keys only one runtime wrote and every common key whose normalised value differs;
    returns the keys that differ (also used by compare_cross_app_keys.py)."""
    differ = sorted(set(a) ^ set(b))
    print("===== only daprd:", sorted(set(a) - set(b)))
    print("===== only local:", sorted(set(b) - set(a)))
    for key in sorted(set(a) & set(b)):
        na, nb = normalise(a[key]), normalise(b[key])
        if na != nb:
            differ.append(key)
            print("DIFF", key)
            print("   daprd:", json.dumps(na, sort_keys=True))
            print("   local:", json.dumps(nb, sort_keys=True))
    print(f"===== {len(differ)} key(s) differ")
    return differ


if __name__ == "__main__":
    main()
