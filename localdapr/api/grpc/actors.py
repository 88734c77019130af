"""gRPC actor RPCs of ``dapr.proto.runtime.v1.Dapr``, as daprd 1.18.2's ``pkg/api/grpc`` answers them.

Same service as the HTTP routes (``localdapr/actors/service.py``); only the translation differs:
gRPC metadata becomes the app call's headers, reminder/timer ``data`` bytes are kept as daprd
keeps them (a JSON base64 string) and come back wrapped in ``google.protobuf.BytesValue``.
"""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import actors_pb2
from google.protobuf import any_pb2, empty_pb2, wrappers_pb2

from localdapr.actors import errors
from localdapr.actors.service import CALLER_HEADER, ActorService, grpc_reminder_data, is_reserved
from localdapr.api.grpc.base import ServicerBase, translate_errors
from localdapr.errors import DaprError


def _data_any(data_json: str | None) -> any_pb2.Any | None:
    if data_json is None:
        return None
    packed = any_pb2.Any()
    packed.Pack(wrappers_pb2.BytesValue(value=data_json.encode()))
    return packed


class ActorsApi(ServicerBase):
    @property
    def _actors(self) -> ActorService:
        return self.runtime.services["actors"]  # type: ignore[no-any-return]

    @translate_errors
    async def InvokeActor(self, request: actors_pb2.InvokeActorRequest, context: grpc.aio.ServicerContext) -> actors_pb2.InvokeActorResponse:
        headers = [(k, v) for k, v in request.metadata.items()]
        caller = next((v for k, v in (context.invocation_metadata() or ()) if k == CALLER_HEADER), None)
        try:
            reply = await self._actors.invoke(request.actor_type, request.actor_id, request.method, request.data, headers, caller=caller)
        except errors.LookupFailed as exc:
            raise DaprError(grpc.StatusCode.FAILED_PRECONDITION, 500, "ERR_ACTOR_INVOKE_METHOD", exc.text) from None
        return actors_pb2.InvokeActorResponse(data=reply.body)

    @translate_errors
    async def GetActorState(self, request: actors_pb2.GetActorStateRequest, context: grpc.aio.ServicerContext) -> actors_pb2.GetActorStateResponse:
        data = await self._actors.get_state(request.actor_type, request.actor_id, request.key)
        return actors_pb2.GetActorStateResponse(data=data or b"")

    @translate_errors
    async def ExecuteActorStateTransaction(self, request: actors_pb2.ExecuteActorStateTransactionRequest,
                                           context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        service = self._actors
        service.check_active(request.actor_type, request.actor_id)
        built = []
        for op in request.operations:
            if op.operationType == "upsert":
                built.append(service.upsert(request.actor_type, request.actor_id, op.key, op.value.value, dict(op.metadata)))
            elif op.operationType == "delete":
                built.append(service.delete_op(request.actor_type, request.actor_id, op.key))
            else:
                raise DaprError(grpc.StatusCode.UNIMPLEMENTED, 501, "ERR_ACTOR_STATE_TRANSACTION_SAVE", f"operation type {op.operationType} not supported")
        await service.transaction(request.actor_type, request.actor_id, built)
        return empty_pb2.Empty()

    @translate_errors
    async def RegisterActorReminder(self, request: actors_pb2.RegisterActorReminderRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        overwrite = request.overwrite if request.HasField("overwrite") else None
        await self._actors.create_reminder(request.actor_type, request.actor_id, request.name, request.due_time, request.period, request.ttl,
                                           grpc_reminder_data(request.data), overwrite=overwrite)
        return empty_pb2.Empty()

    @translate_errors
    async def UnregisterActorReminder(self, request: actors_pb2.UnregisterActorReminderRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        await self._actors.delete_reminder(request.actor_type, request.actor_id, request.name)
        return empty_pb2.Empty()

    @translate_errors
    async def GetActorReminder(self, request: actors_pb2.GetActorReminderRequest, context: grpc.aio.ServicerContext) -> actors_pb2.GetActorReminderResponse:
        view = self._actors.reminder_view(await self._actors.get_reminder(request.actor_type, request.actor_id, request.name))
        p = await self._actors.get_reminder(request.actor_type, request.actor_id, request.name)
        return actors_pb2.GetActorReminderResponse(actor_type=view["actorType"], actor_id=view["actorID"], due_time=view.get("dueTime"),
                                                   period=view.get("period"), data=_data_any(p.get("data")))

    @translate_errors
    async def ListActorReminders(self, request: actors_pb2.ListActorRemindersRequest, context: grpc.aio.ServicerContext) -> actors_pb2.ListActorRemindersResponse:
        actor_id = request.actor_id if request.HasField("actor_id") else None
        out = []
        for p in await self._actors.list_reminders(request.actor_type, actor_id):
            view = self._actors.reminder_view(p)
            out.append(actors_pb2.NamedActorReminder(name=p["name"], reminder=actors_pb2.ActorReminder(
                actor_type=view["actorType"], actor_id=view["actorID"], due_time=view.get("dueTime"), period=view.get("period"),
                data=_data_any(p.get("data")))))
        return actors_pb2.ListActorRemindersResponse(reminders=out)

    @translate_errors
    async def UnregisterActorRemindersByType(self, request: actors_pb2.UnregisterActorRemindersByTypeRequest,
                                             context: grpc.aio.ServicerContext) -> actors_pb2.UnregisterActorRemindersByTypeResponse:
        await self._actors.delete_reminders_by_type(request.actor_type)
        return actors_pb2.UnregisterActorRemindersByTypeResponse()

    @translate_errors
    async def RegisterActorTimer(self, request: actors_pb2.RegisterActorTimerRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        if is_reserved(request.actor_type):
            raise errors.type_reserved(request.actor_type)
        await self._actors.create_timer(request.actor_type, request.actor_id, request.name, request.due_time, request.period, request.ttl,
                                        request.callback, grpc_reminder_data(request.data))
        return empty_pb2.Empty()

    @translate_errors
    async def UnregisterActorTimer(self, request: actors_pb2.UnregisterActorTimerRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        await self._actors.delete_timer(request.actor_type, request.actor_id, request.name)
        return empty_pb2.Empty()
