"""The DemoActor client (as python-sdk's demo_actor_client.py; waits 4 s instead of 12)."""

import asyncio

from dapr.actor import ActorId, ActorProxy, ActorProxyFactory
from dapr.clients.retry import RetryPolicy

from demo_actor_interface import DemoActorInterface


async def main() -> None:
    factory = ActorProxyFactory(retry_policy=RetryPolicy(max_attempts=3))
    proxy = ActorProxy.create("DemoActor", ActorId("1"), DemoActorInterface, factory)
    print("call actor method via proxy.invoke_method()", flush=True)
    rtn_bytes = await proxy.invoke_method("GetMyData")
    print(rtn_bytes, flush=True)
    print("call actor method using rpc style", flush=True)
    rtn_obj = await proxy.GetMyData()
    print(rtn_obj, flush=True)
    is_reentrant = await proxy.invoke_method("GetReentrancyStatus")
    print(f"Actor reentrancy enabled: {str(is_reentrant)}", flush=True)
    print("call SetMyData actor method to save the state", flush=True)
    await proxy.SetMyData({"data": "new_data"})
    print("call GetMyData actor method to get the state", flush=True)
    rtn_obj = await proxy.GetMyData()
    print(rtn_obj, flush=True)
    print("Register reminder", flush=True)
    await proxy.SetReminder(True)
    print("Register timer", flush=True)
    await proxy.SetTimer(True)
    print("waiting for 4 seconds", flush=True)
    await asyncio.sleep(4)
    print("stop reminder", flush=True)
    await proxy.SetReminder(False)
    print("stop timer", flush=True)
    await proxy.SetTimer(False)
    print("clear actor state", flush=True)
    await proxy.ClearMyData()


asyncio.run(main())
