"""The agent process notebook 07 (and bench/chaos.py) runs, kills with SIGKILL and restarts.

A DurableAgent (dapr-agents 1.0.9) whose scripted LLM and tools stop at **gates**, so the
notebook can hold each run at one chosen point (LLM turn 0 running, tool running, LLM turn 1
running, or let it finish) and then kill the app, the sidecar or Redis. Every LLM call, tool
run and side effect is appended to ``events.jsonl`` in ``AGENT_STATE_DIR`` (files, not Redis:
the counters must survive a Redis crash), each tagged with the run it belongs to (the tag is in
the task text: ``[run <tag>] ...``).

Exactly-once effects: a ``before_tool_call`` hook hands the tool its LLM-assigned tool-call id
as ``idempotency_key``; the tool's side effect (a ledger entry, think "charge the card") is
created only if that key is new, so a tool that runs twice after a crash charges once.
Human-in-the-loop: a run whose task asks for a refund calls ``issue_refund``, which the hook
sends to approval (``RequireApproval``): the workflow waits for the approval event, durably.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

from dapr_agents import AgentRunner, DurableAgent, tool
from dapr_agents.agents.configs import AgentRegistryConfig, AgentStateConfig
from dapr_agents.hooks import Hooks, Mutate, Proceed, RequireApproval, ToolHookContext
from dapr_agents.storage.daprstores.stateservice import StateStoreService
from dapr_agents.types.message import AssistantMessage, LLMChatCandidate, LLMChatResponse

from cookbook.llm import ScriptedChatClient, structured_reply

STATE = Path(os.environ["AGENT_STATE_DIR"])
GATES = STATE / "gates"
LEDGER = STATE / "ledger"
EVENTS = STATE / "events.jsonl"
TAG = re.compile(r"\[run ([A-Za-z0-9_.-]+)\]")
STEP_SECONDS = float(os.environ.get("AGENT_STEP_SECONDS", "0"))  # bench/chaos.py: each step takes this long


def record(kind: str, tag: str, **fields: Any) -> None:
    """One line per step execution, written before the step waits at its gate."""
    with EVENTS.open("a") as f:
        f.write(json.dumps({"kind": kind, "tag": tag, "pid": os.getpid(), "time": time.time(), **fields}) + "\n")


def hold(tag: str, stage: str) -> None:
    """Wait until the notebook opens this run's gate for ``stage`` (or every gate)."""
    while not (GATES / f"{tag}.{stage}").exists() and not (GATES / "all").exists():
        time.sleep(0.02)
    time.sleep(STEP_SECONDS)


def _content(message: Any) -> str:
    return (message.get("content") if isinstance(message, dict) else getattr(message, "content", "")) or ""


def _role(message: Any) -> str | None:
    return message.get("role") if isinstance(message, dict) else getattr(message, "role", None)


class GatedLLM(ScriptedChatClient):
    """The scripted LLM, with a gate per turn and a tool-call id unique to the run (as a real
    LLM's ids are), derived from the conversation so a re-asked turn gets the same id."""

    def generate(self, messages: Any = None, *, tools: Any = None, response_format: Any = None, stream: bool = False, **kwargs: Any) -> Any:
        history = list(messages or [])
        if response_format is not None:
            return structured_reply(response_format)
        tag = next((m[1] for m in (TAG.search(_content(x)) for x in history if _role(x) == "user") if m), "untagged")
        turn = sum(1 for m in history if _role(m) == "assistant")
        record("llm", tag, turn=turn)
        hold(tag, f"llm{turn}")
        task = next((_content(x) for x in history if _role(x) == "user"), "")
        if turn == 0:
            name = "IssueRefund" if "refund" in task else "ChargeOrder"
            calls = [{"id": f"call-{tag}-0-0", "type": "function",
                      "function": {"name": name, "arguments": json.dumps({"order": tag})}}]
            message = AssistantMessage(content=None, tool_calls=calls)
            return LLMChatResponse(results=[LLMChatCandidate(message=message, finish_reason="tool_calls")])
        message = AssistantMessage(content=f"Done: order {tag} handled.")
        return LLMChatResponse(results=[LLMChatCandidate(message=message, finish_reason="stop")])


@tool
def charge_order(order: str, idempotency_key: str = "") -> str:
    """Charge the customer for an order (idempotency_key is filled in by the agent's hook)."""
    record("tool", order, key=idempotency_key)
    hold(order, "tool")
    LEDGER.mkdir(exist_ok=True)
    try:  # the payment provider's idempotency check: one ledger entry per key, ever
        fd = os.open(LEDGER / (idempotency_key or f"no-key-{time.time_ns()}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        os.close(fd)
        record("effect", order, key=idempotency_key, new=True)
        return f"charged order {order} (key {idempotency_key})"
    except FileExistsError:
        record("effect", order, key=idempotency_key, new=False)
        return f"order {order} was already charged (key {idempotency_key})"


@tool
def issue_refund(order: str) -> str:
    """Refund an order: a human must approve it first."""
    record("tool", order, key="")
    return f"refunded order {order}"


def before_tool(ctx: ToolHookContext) -> Any:
    """Runs in the workflow body (deterministic): approval for refunds, the idempotency key
    (the LLM's tool-call id, recorded in the workflow history) for charges."""
    if ctx.step_name.lower().replace("_", "") == "issuerefund":
        return RequireApproval(instructions=f"approve refund of {ctx.payload}")
    if ctx.step_name.lower().replace("_", "") == "chargeorder":
        return Mutate(payload={**ctx.payload, "idempotency_key": ctx.tool_call_id})
    return Proceed()


GATES.mkdir(parents=True, exist_ok=True)
agent = DurableAgent(
    name="RecoveryAgent",
    role="Order assistant",
    instructions=["Charge or refund orders with your tools."],
    tools=[charge_order, issue_refund],
    llm=GatedLLM([{"content": "unused"}]),
    hooks=Hooks(before_tool_call=[before_tool]),
    state=AgentStateConfig(store=StateStoreService(store_name="workflowstatestore")),
    registry=AgentRegistryConfig(store=StateStoreService(store_name="agentstatestore"), team_name="orders"),
)
runner = AgentRunner()
runner.workflow(agent)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("agent ready", flush=True)
stop.wait()
runner.shutdown(agent)
