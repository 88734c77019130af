"""One tenant's agent process in notebook 05: the SAME code, app id and agent name for every tenant.

What tells the tenants apart is only the sidecar: each tenant's daprd runs with its own
``NAMESPACE``, and the stores use ``keyPrefix: namespace``. The agent's reply names the tenant
and repeats the question, so a notebook can check that every key holds only its own tenant's and
its own run's words. The LLM is offline: it answers from the conversation it is shown (the last
user message), so concurrent runs of one agent cannot borrow each other's replies.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from typing import Any

from dapr_agents import AgentRunner, DurableAgent
from dapr_agents.agents.configs import AgentRegistryConfig, AgentStateConfig
from dapr_agents.storage.daprstores.stateservice import StateStoreService
from dapr_agents.types.message import AssistantMessage, LLMChatCandidate, LLMChatResponse

from cookbook.llm import ScriptedChatClient

TENANT = os.environ["TENANT"]  # for the replies only; the isolation comes from the sidecar's NAMESPACE


def _question(messages: Any) -> str:
    """The last user message of the conversation (the run's question)."""
    users = [m for m in (messages or []) if (m.get("role") if isinstance(m, dict) else getattr(m, "role", None)) == "user"]
    last = users[-1] if users else {}
    text = str(last.get("content") if isinstance(last, dict) else getattr(last, "content", ""))
    quoted = re.search(r"^user: (.*)$", text, re.MULTILINE)  # the summary prompt quotes the conversation
    return quoted.group(1) if quoted else text


class EchoChatClient(ScriptedChatClient):
    """Answers "[<tenant>] answer to: <the run's question>", and summarises the run the same
    way, from the messages it is given: never from a shared variable."""

    def generate(self, messages: Any = None, *, response_format: Any = None, **kwargs: Any) -> Any:
        question = _question(messages)
        self._record({"kind": "structured" if response_format else "turn", "question": question})
        if response_format is not None:
            if getattr(response_format, "__name__", "") == "ConversationSummary":
                return response_format(summary=f"[{TENANT}] summary of: {question}")
            return super().generate(messages, response_format=response_format, **kwargs)
        reply = AssistantMessage(content=f"[{TENANT}] answer to: {question}")
        return LLMChatResponse(results=[LLMChatCandidate(message=reply, finish_reason="stop")])


llm = EchoChatClient([{"content": "unused"}])
agent = DurableAgent(
    name="Assistant",                                   # the same name in every tenant
    role=f"{TENANT} support assistant",
    instructions=["Answer the customer's question."],
    llm=llm,
    state=AgentStateConfig(store=StateStoreService(store_name="agentstatestore")),
    registry=AgentRegistryConfig(store=StateStoreService(store_name="agentregistry"), team_name="support"),
)
runner = AgentRunner()
runner.workflow(agent)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print(f"agent ready (tenant {TENANT})", flush=True)
stop.wait()
runner.shutdown(agent)
