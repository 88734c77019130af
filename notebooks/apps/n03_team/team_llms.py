"""The scripted LLMs of notebook 03's team (offline, deterministic, replay-stable).

* :class:`Planner` is the AGENT-mode orchestrator's LLM. Its answers come from the prompt it is
  shown, never from a counter in the process, so a restarted orchestrator asks and gets the same:
  the plan (``PLAN_STEPS`` steps, step k for member ``k mod n``), the next step (the first step
  the prompt's plan does not show ``completed``), the progress check ("completed" once the
  prompt's plan has every step completed, else "continue").
* :class:`GatedScript` is a member agent's LLM: every chat turn takes a ticket from Redis
  (``gate:tickets``, the ticket's agent in ``gate:ticket:<n>``) and waits until the notebook opened
  the gate that far (``gate:open`` >= ticket). The notebook thereby knows which child is in
  flight, and can crash a process while it is. A ticket in ``gate:abandoned`` fails once the gate opens: the
  call a crash left behind in a live process, whose result could not be delivered anyway.

Both log every call to ``SCRIPTED_LLM_LOG`` (JSONL) through :class:`cookbook.llm.ScriptedChatClient`.
"""

from __future__ import annotations

import ast
import os
import re
import time
from typing import Any

import redis

from cookbook.llm import ScriptedChatClient


def _last_user_text(messages: Any) -> str:
    for m in reversed(list(messages or [])):
        role = m.get("role") if isinstance(m, dict) else getattr(m, "role", None)
        if role == "user":
            content = m.get("content") if isinstance(m, dict) else getattr(m, "content", "")
            return content if isinstance(content, str) else str(content)
    return ""


def plan_in_prompt(prompt: str) -> list[dict[str, Any]]:
    """The plan (a Python list literal) that dapr-agents formats into its next-step and
    progress-check prompts after '### Current Execution Plan:'."""
    match = re.search(r"### Current Execution Plan:\s*(\[.*?\])\s*\n\s*\n?###", prompt, re.S)
    return ast.literal_eval(match[1]) if match else []


class Planner(ScriptedChatClient):
    def __init__(self, members: list[str], steps: int) -> None:
        super().__init__([{"content": "Plan carried out: every step was done by its agent."}])
        self.members, self.steps = members, steps

    def generate(self, messages: Any = None, *, tools: Any = None, response_format: Any = None, stream: bool = False, **kwargs: Any) -> Any:
        kind = getattr(response_format, "__name__", "")
        if kind == "IterablePlanStep":
            self._record({"kind": "structured", "format": kind})
            return response_format(objects=[
                {"step": k, "description": f"Part {k} of the brief ({self.member(k)})", "status": "not_started"}
                for k in range(1, self.steps + 1)])
        if kind in ("NextStep", "ProgressCheckOutput"):
            plan = plan_in_prompt(_last_user_text(messages))
            todo = [s["step"] for s in plan if s.get("status") != "completed"]
            self._record({"kind": "structured", "format": kind, "open_steps": todo})
            if kind == "NextStep":
                step = todo[0] if todo else self.steps
                return response_format(next_agent=self.member(step), instruction=f"Write part {step} of the brief.", step=step)
            return response_format(verdict="continue" if todo else "completed", plan_needs_update=False)
        return super().generate(messages, tools=tools, response_format=response_format, stream=stream, **kwargs)

    def member(self, step: int) -> str:
        return self.members[(step - 1) % len(self.members)]


class GatedScript(ScriptedChatClient):
    def __init__(self, name: str, redis_url: str) -> None:
        super().__init__([{"content": f"{name}: my part is written."}])
        self.name, self.redis = name, redis.Redis.from_url(redis_url)

    def generate(self, messages: Any = None, *, tools: Any = None, response_format: Any = None, stream: bool = False, **kwargs: Any) -> Any:
        if response_format is None:  # a chat turn (the summary's structured call is not gated)
            ticket = self.redis.incr("gate:tickets")
            self.redis.set(f"gate:ticket:{ticket}", self.name)
            while int(self.redis.get("gate:open") or 0) < ticket:
                time.sleep(0.02)
            # checked after the gate opened: the notebook abandons a ticket before it opens the gate
            if self.redis.sismember("gate:abandoned", ticket):
                self._record({"kind": "abandoned", "ticket": ticket})
                raise RuntimeError(f"ticket {ticket} abandoned by the notebook")
            self._record({"kind": "ticket", "ticket": ticket, "task": _last_user_text(messages)[:80]})
        return super().generate(messages, tools=tools, response_format=response_format, stream=stream, **kwargs)


def redis_url() -> str:
    return os.environ["TEAM_REDIS_URL"]
