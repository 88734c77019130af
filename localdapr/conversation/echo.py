"""``conversation.echo`` with Dapr 1.16+ semantics (spec I2): all text joined, one choice.

It echoes the prompt back so an agent can run offline; it makes one tool call per tool offered
(arguments = the tool's parameter names joined by commas, which is not JSON, exactly as
components-contrib does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localdapr.components.model import ComponentSpec


@dataclass
class EchoToolCall:
    id: str
    name: str
    arguments: str


@dataclass
class EchoResult:
    content: str
    finish_reason: str
    tool_calls: list[EchoToolCall]
    tokens: int


class EchoConversation:
    def __init__(self, spec: ComponentSpec) -> None:
        self.spec = spec

    @classmethod
    async def create(cls, spec: ComponentSpec, runtime: Any) -> "EchoConversation":
        return cls(spec)

    def converse(self, texts: list[str], tools: list[tuple[str, list[str]]]) -> EchoResult:
        content = "\n".join(texts)
        calls = [EchoToolCall(str(i), name, ",".join(sorted(params))) for i, (name, params) in enumerate(tools)]
        return EchoResult(content, "tool_calls" if calls else "stop", calls, len(content.split()))
