"""conversation.echo with 1.16+ semantics (spec I), over gRPC, HTTP and dapr-agents' DaprChatClient."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest

from cookbook.sidecar import Sidecar
from tests.conformance.conftest import component


@pytest.fixture
def echo_sidecar(tmp_path: Path, sidecar_factory) -> Iterator[Sidecar]:  # type: ignore[no-untyped-def]
    (tmp_path / "echo.yaml").write_text(component("echo", "conversation.echo", {}))
    sidecar = sidecar_factory("echo-app", tmp_path, actors=False)
    from cookbook.services import use_sidecar_in_this_process

    use_sidecar_in_this_process(sidecar)
    yield sidecar


def test_I3_alpha1_joins_inputs_into_one_output(echo_sidecar: Sidecar) -> None:
    base = f"http://127.0.0.1:{echo_sidecar.http_port}"
    r = httpx.post(f"{base}/v1.0-alpha1/conversation/echo/converse", json={"inputs": [{"content": "hello"}, {"content": "world"}], "contextID": "c1"})
    assert r.status_code == 200
    assert r.json() == {"outputs": [{"result": "hello\nworld"}], "contextID": "c1"}
    missing = httpx.post(f"{base}/v1.0-alpha1/conversation/nope/converse", json={"inputs": [{"content": "x"}]})
    assert missing.status_code == 400 and missing.json()["errorCode"] == "ERR_CONVERSATION_NOT_FOUND"
    empty = httpx.post(f"{base}/v1.0-alpha1/conversation/echo/converse", json={"inputs": []})
    assert empty.status_code == 400 and empty.json()["errorCode"] == "ERR_CONVERSATION_MISSING_INPUTS"


def test_I4_alpha2_choices_usage_and_tool_calls(echo_sidecar: Sidecar) -> None:
    base = f"http://127.0.0.1:{echo_sidecar.http_port}"
    body = {"inputs": [{"messages": [
        {"ofSystem": {"content": [{"text": "be brief"}]}},
        {"ofUser": {"content": [{"text": "weather in Paris"}]}},
        {"ofTool": {"toolId": "0", "name": "get_weather", "content": [{"text": "sunny"}]}},
    ]}]}
    out = httpx.post(f"{base}/v1.0-alpha2/conversation/echo/converse", json=body).json()
    text = "be brief\nweather in Paris\nTool Response for tool ID '0' with name 'get_weather': sunny"
    assert len(text.split()) == 15  # usage counts whitespace-separated words
    assert out == {"outputs": [{"choices": [{"finishReason": "stop", "message": {"content": text}}],
                                "usage": {"completionTokens": "15", "promptTokens": "15", "totalTokens": "30"}}]}
    body["tools"] = [{"function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"unit": {}, "city": {}}}}}]
    choice = httpx.post(f"{base}/v1.0-alpha2/conversation/echo/converse", json=body).json()["outputs"][0]["choices"][0]
    assert choice["finishReason"] == "tool_calls"
    assert choice["message"]["toolCalls"] == [{"id": "0", "function": {"name": "get_weather", "arguments": "city,unit"}}]
    bad = httpx.post(f"{base}/v1.0-alpha2/conversation/echo/converse", json={"inputs": [{"messages": [{}]}]})
    assert bad.status_code == 400 and bad.json()["errorCode"] == "ERR_CONVERSATION_INVALID_PARMS"


def test_dapr_chat_client_round_trip(echo_sidecar: Sidecar) -> None:
    from dapr_agents.llm.dapr import DaprChatClient

    client = DaprChatClient(component_name="echo")
    response = client.generate([{"role": "user", "content": "ping from the cookbook"}])
    assert "ping from the cookbook" in response.get_message().content
