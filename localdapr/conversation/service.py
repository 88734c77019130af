"""ConverseAlpha1 / ConverseAlpha2 on protobuf messages, shared by gRPC and HTTP (protojson)."""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import ai_pb2

from localdapr.conversation.echo import EchoConversation
from localdapr.errors import DaprError
from localdapr.runtime import Runtime


def _component(runtime: Runtime, name: str) -> EchoConversation:
    runtime.check_implemented(name, "conversation")  # e.g. conversation.openai: daprd has it, the local sidecar only lists it
    comp = runtime.conversations.get(name)
    if comp is None:
        raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_CONVERSATION_NOT_FOUND", f"failed finding conversation component {name}")
    return comp


def _missing_inputs() -> DaprError:
    return DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_CONVERSATION_MISSING_INPUTS", "conversation inputs are missing")


def _invalid(message: str) -> DaprError:
    return DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_CONVERSATION_INVALID_PARMS", message)


def converse_alpha1(runtime: Runtime, req: ai_pb2.ConversationRequest) -> ai_pb2.ConversationResponse:
    echo = _component(runtime, req.name)
    if not req.inputs:
        raise _missing_inputs()
    result = echo.converse([i.content for i in req.inputs], [])
    resp = ai_pb2.ConversationResponse(outputs=[ai_pb2.ConversationResult(result=result.content, parameters=req.parameters)])
    if req.contextID:
        resp.contextID = req.contextID
    return resp


def _message_texts(message: ai_pb2.ConversationMessage) -> list[str]:
    kind = message.WhichOneof("message_types")
    if kind is None:
        raise _invalid("conversation message has no type (ofUser, ofSystem, ofDeveloper, ofAssistant, ofTool)")
    body = getattr(message, kind)
    texts = [c.text for c in body.content]
    if kind == "of_tool":
        return [f"Tool Response for tool ID '{body.tool_id}' with name '{body.name}': {t}" for t in texts]
    return texts


def _param_names(tool: ai_pb2.ConversationTools) -> list[str]:
    props = tool.function.parameters.fields.get("properties")
    return sorted(props.struct_value.fields.keys()) if props is not None else []


def converse_alpha2(runtime: Runtime, req: ai_pb2.ConversationRequestAlpha2) -> ai_pb2.ConversationResponseAlpha2:
    echo = _component(runtime, req.name)
    if not req.inputs:
        raise _missing_inputs()
    texts = [t for inp in req.inputs for m in inp.messages for t in _message_texts(m)]
    tools = [(t.function.name, _param_names(t)) for t in req.tools]
    names = {name for name, _ in tools}
    if req.tool_choice == "required" and not tools:
        raise _invalid("tool choice 'required' needs at least one tool")
    if req.tool_choice not in ("", "auto", "none", "required") and req.tool_choice not in names:
        raise _invalid(f"tool choice '{req.tool_choice}' does not name a tool in the request")
    result = echo.converse(texts, tools)
    message = ai_pb2.ConversationResultMessage(content=result.content)
    for call in result.tool_calls:
        message.tool_calls.append(ai_pb2.ConversationToolCalls(id=call.id, function=ai_pb2.ConversationToolCallsOfFunction(name=call.name, arguments=call.arguments)))
    usage = ai_pb2.ConversationResultAlpha2CompletionUsage(completion_tokens=result.tokens, prompt_tokens=result.tokens, total_tokens=2 * result.tokens)
    out = ai_pb2.ConversationResultAlpha2(choices=[ai_pb2.ConversationResultChoices(finish_reason=result.finish_reason, index=0, message=message)], usage=usage)
    resp = ai_pb2.ConversationResponseAlpha2(outputs=[out])
    if req.context_id:
        resp.context_id = req.context_id
    return resp
