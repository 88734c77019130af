"""LLM clients for the notebooks: a deterministic scripted one by default, real ones on request.

The scripted client picks its reply from the conversation it is shown (how many assistant
turns it already holds), never from a counter in the process. A DurableAgent that crashed and
restarted therefore gets exactly the same replies, and a turn the workflow already completed is
never asked again (replay serves it from history). Each call is appended to a JSONL log so a
notebook can assert that.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from dapr_agents.llm.chat import ChatClientBase
from dapr_agents.types.message import AssistantMessage, LLMChatCandidate, LLMChatResponse

CALL_LOG_ENV = "SCRIPTED_LLM_LOG"


def _role(message: Any) -> str | None:
    return message.get("role") if isinstance(message, dict) else getattr(message, "role", None)


def structured_reply(model: type) -> Any:
    """A valid instance of the structured type an agent asks for (summary, plans, progress)."""
    name = getattr(model, "__name__", "")
    if name == "ConversationSummary":
        return model(summary="Scripted run: the user asked, the tool answered, the agent replied.")
    if name == "IterablePlanStep":
        return model(objects=[])
    if name == "NextStep":
        return model(next_agent="", instruction="Finish the task.", step=1)
    if name == "ProgressCheckOutput":
        return model(verdict="completed", plan_needs_update=False)
    return model.model_construct()


class ScriptedChatClient(ChatClientBase):
    """Replies from a script: ``turns[i]`` answers the conversation holding i assistant turns.

    A turn is ``{"content": "..."}`` or ``{"tool_calls": [{"name": "tool", "arguments": {...}}]}``.
    """

    provider = "scripted"
    api = "chat"
    model = "scripted-v1"

    def __init__(self, turns: list[dict[str, Any]], call_log: str | Path | None = None) -> None:
        if not turns:
            raise ValueError("a scripted client needs at least one turn")
        self.turns = turns
        self.prompty = None
        self.prompt_template = None
        self.call_log = Path(call_log) if call_log else (Path(os.environ[CALL_LOG_ENV]) if os.environ.get(CALL_LOG_ENV) else None)

    @classmethod
    def from_prompty(cls, prompty_source: Any, timeout: Any = 1500) -> "ScriptedChatClient":
        raise NotImplementedError("the scripted client is configured with turns, not a prompty file")

    def _record(self, entry: dict[str, Any]) -> None:
        if self.call_log is not None:
            with self.call_log.open("a") as f:
                f.write(json.dumps({**entry, "pid": os.getpid(), "time": time.time()}) + "\n")

    def generate(self, messages: Any = None, *, tools: Any = None, response_format: Any = None, stream: bool = False, **kwargs: Any) -> Any:
        if response_format is not None:
            self._record({"kind": "structured", "format": getattr(response_format, "__name__", str(response_format))})
            return structured_reply(response_format)
        history = list(messages or [])
        done = sum(1 for m in history if _role(m) == "assistant")
        turn = dict(self.turns[min(done, len(self.turns) - 1)])
        self._record({"kind": "turn", "turn": done})
        calls = turn.pop("tool_calls", None)
        if calls:
            turn["tool_calls"] = [
                {"id": f"call_{done}_{k}", "type": "function",
                 "function": {"name": c["name"], "arguments": json.dumps(c.get("arguments", {}))}}
                for k, c in enumerate(calls)
            ]
            turn.setdefault("content", None)
        message = AssistantMessage(**turn)
        return LLMChatResponse(results=[LLMChatCandidate(message=message, finish_reason="tool_calls" if calls else "stop")])


def read_call_log(path: str | Path) -> list[dict[str, Any]]:
    file = Path(path)
    if not file.exists():
        return []
    return [json.loads(line) for line in file.read_text().splitlines() if line.strip()]


LLM_CHOICES = ("scripted", "openai", "dapr")


def missing_llm_settings(kind: str) -> str | None:
    """What a real LLM still needs before a run can start (checked before any process starts)."""
    if kind == "openai" and not (os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL")):
        return "needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible server) in the environment"
    return None


def make_llm(kind: str, turns: list[dict[str, Any]], call_log: str | Path | None = None) -> Any:
    """``scripted`` (default, offline), ``openai`` (OPENAI_API_KEY / OPENAI_BASE_URL), ``dapr``."""
    if kind == "scripted":
        return ScriptedChatClient(turns, call_log)
    if kind == "openai":
        from dapr_agents.llm.openai import OpenAIChatClient  # noqa: PLC0415 - optional path

        return OpenAIChatClient(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"), base_url=os.environ.get("OPENAI_BASE_URL"))
    if kind == "dapr":
        from dapr_agents.llm.dapr import DaprChatClient  # noqa: PLC0415

        return DaprChatClient(component_name=os.environ.get("DAPR_LLM_COMPONENT_DEFAULT") or None)
    raise ValueError(f"llm must be one of {', '.join(LLM_CHOICES)}, not {kind!r}")
