"""DemoActor hosted with FastAPI + dapr-ext-fastapi (as python-sdk's demo_actor_service.py and
demo_actor.py; reminder and timer every 1 s instead of 5 s)."""

from __future__ import annotations

import datetime
from typing import Optional

from dapr.actor import Actor, Remindable
from dapr.actor.runtime.config import ActorReentrancyConfig, ActorRuntimeConfig, ActorTypeConfig
from dapr.actor.runtime.runtime import ActorRuntime
from dapr.ext.fastapi import DaprActor
from fastapi import FastAPI

from demo_actor_interface import DemoActorInterface

PERIOD = datetime.timedelta(seconds=1)


class DemoActor(Actor, DemoActorInterface, Remindable):
    def __init__(self, ctx, actor_id):  # type: ignore[no-untyped-def]
        super().__init__(ctx, actor_id)

    async def _on_activate(self) -> None:
        print(f"Activate {self.__class__.__name__} actor!", flush=True)

    async def _on_deactivate(self) -> None:
        print(f"Deactivate {self.__class__.__name__} actor!", flush=True)

    async def get_my_data(self) -> object:
        has_value, val = await self._state_manager.try_get_state("mydata")
        print(f"has_value: {has_value}", flush=True)
        return val

    async def set_my_data(self, data) -> None:  # type: ignore[no-untyped-def]
        print(f"set_my_data: {data}", flush=True)
        data["ts"] = datetime.datetime.now(datetime.timezone.utc)
        await self._state_manager.set_state("mydata", data)
        await self._state_manager.save_state()

    async def clear_my_data(self) -> None:
        print("clear_my_data", flush=True)
        await self._state_manager.remove_state("mydata")
        await self._state_manager.save_state()

    async def set_reminder(self, enabled) -> None:  # type: ignore[no-untyped-def]
        print(f"set reminder to {enabled}", flush=True)
        if enabled:
            await self.register_reminder("demo_reminder", b"reminder_state", PERIOD, PERIOD, PERIOD)
        else:
            await self.unregister_reminder("demo_reminder")
        print("set reminder is done", flush=True)

    async def set_timer(self, enabled) -> None:  # type: ignore[no-untyped-def]
        print(f"set_timer to {enabled}", flush=True)
        if enabled:
            await self.register_timer("demo_timer", self.timer_callback, "timer_state", PERIOD, PERIOD, PERIOD)
        else:
            await self.unregister_timer("demo_timer")
        print("set_timer is done", flush=True)

    async def timer_callback(self, state) -> None:  # type: ignore[no-untyped-def]
        print(f"time_callback is called - {state}", flush=True)

    async def receive_reminder(self, name: str, state: bytes, due_time: datetime.timedelta, period: datetime.timedelta,
                               ttl: Optional[datetime.timedelta] = None) -> None:
        print(f"receive_reminder is called - {name} reminder - {str(state)}", flush=True)

    async def get_reentrancy_status(self) -> bool:
        from dapr.actor.runtime.reentrancy_context import reentrancy_ctx

        return reentrancy_ctx.get(None) is not None


app = FastAPI(title=f"{DemoActor.__name__}Service")
config = ActorRuntimeConfig()
config.update_actor_type_configs([ActorTypeConfig(actor_type=DemoActor.__name__, reentrancy=ActorReentrancyConfig(enabled=True))])
ActorRuntime.set_actor_config(config)
actor = DaprActor(app)


@app.on_event("startup")
async def startup_event() -> None:
    await actor.register_actor(DemoActor)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
