"""The agent process notebook 09 drives through pub/sub, kills with SIGKILL and restarts.

A DurableAgent (dapr-agents 1.0.9) subscribed to its topic with ``AgentPubSubConfig``. The runner
holds each message until the run it started completes (``await_result=True``), so a message is
acknowledged only once its work is done. Idempotent handling: the run's instance id is derived
from the CloudEvent id, so a message delivered again (after a crash) finds its run instead of
starting a second one. The tool counts every execution in Redis and waits for the notebook's
release key, so the notebook can crash the process while it holds the message.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import dapr.ext.workflow as wf
import redis
from dapr_agents import AgentRunner, DurableAgent, tool
from dapr_agents.agents.configs import AgentPubSubConfig, AgentStateConfig
from dapr_agents.storage.daprstores.stateservice import StateStoreService

from cookbook.llm import make_llm

r = redis.Redis.from_url(os.environ["AGENT_REDIS_URL"])


class IdempotentWorkflowClient(wf.DaprWorkflowClient):
    """One run per message: instance id ``msg-<CloudEvent id>``; a redelivered message whose run
    already exists gets that run (the runner then waits for it) instead of a new one."""

    def schedule_new_workflow(self, workflow: Any, *, input: Any = None, instance_id: str | None = None, **kw: Any) -> str:
        event_id = ((input or {}).get("_message_metadata") or {}).get("id") if isinstance(input, dict) else None
        if instance_id is None and event_id:
            instance_id = f"msg-{event_id}"
            delivery = r.incr(f"cookbook:deliveries:{instance_id}")   # every delivery of this message
            if self.get_workflow_state(instance_id, fetch_payloads=False) is not None:
                print(f"message {event_id}: delivery {delivery}, run {instance_id} exists: waiting for it", flush=True)
                return instance_id                                    # redelivered: the run exists
            r.incr(f"cookbook:runs_started:{instance_id}")            # a new run for this message
            print(f"message {event_id}: delivery {delivery}, starting run {instance_id}", flush=True)
        return super().schedule_new_workflow(workflow, input=input, instance_id=instance_id, **kw)


@tool
def order_status(order: str) -> str:
    """Look up the shipping status of an order."""
    runs = r.incr("cookbook:tool_runs")
    while not r.exists("cookbook:release"):  # the notebook releases the tool
        time.sleep(0.02)
    return f"Order {order} shipped today (tool run {runs})"


llm = make_llm(
    os.environ.get("AGENT_LLM", "scripted"),
    [{"tool_calls": [{"name": "OrderStatus", "arguments": {"order": "#42"}}]}, {"content": "Order #42 shipped today."}],
)
agent = DurableAgent(
    name="OrderAgent",
    role="Order desk",
    instructions=["Answer order questions with the order_status tool."],
    tools=[order_status],
    llm=llm,
    state=AgentStateConfig(store=StateStoreService(store_name="workflowstatestore")),
    pubsub=AgentPubSubConfig(pubsub_name="messagepubsub", agent_topic="orders.requests", broadcast_topic="team.broadcast"),
)
runner = AgentRunner(wf_client=IdempotentWorkflowClient(host="127.0.0.1", port=os.environ["DAPR_GRPC_PORT"]))
runner.subscribe(agent, await_result=True)  # hold each message until its run completes
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("agent ready", flush=True)
stop.wait()
runner.shutdown(agent)
