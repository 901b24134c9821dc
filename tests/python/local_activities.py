#!/usr/bin/env python3
"""Local activities with the Temporal Python SDK, for the cross-SDK tests of local_activities.rs.

Usage:
  local_activities.py record ADDRESS TASK_QUEUE WORKFLOW_ID NAME
      Runs LocalActivityWorkflow(NAME) on a Python worker and prints one line of JSON:
      {"result": <the workflow's result>, "history": <its history, proto JSON>}.
  local_activities.py replay
      Reads a history (proto JSON) on stdin and replays it with LocalActivityWorkflow; prints
      {"replayed": true} or {"replayed": false, "error": "..."}.

The workflow (the same logic as the Chronicle workflow of the same name in the tests):
  greeting = local activity la_greet(NAME)
  flaky    = local activity la_flaky(NAME), which fails on its first two attempts
  failure  = local activity la_refuse(NAME), which fails without retries; the workflow catches it
  return "<greeting> <flaky> <message of the failure>"
"""

import asyncio
import json
import os
import sys
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHistory
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import Replayer, Worker

USAGE = __doc__


@activity.defn(name="la_greet")
async def la_greet(name: str) -> str:
    return f"Hello, {name}!"


@activity.defn(name="la_flaky")
async def la_flaky(name: str) -> str:
    if activity.info().attempt < 3:
        raise ApplicationError(f"attempt {activity.info().attempt} fails")
    return f"{name} on attempt {activity.info().attempt}"


@activity.defn(name="la_refuse")
async def la_refuse(name: str) -> str:
    raise ApplicationError(f"{name} refused", type="Refused", non_retryable=True)


@workflow.defn(name="LocalActivityWorkflow")
class LocalActivityWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        ten = timedelta(seconds=10)
        greeting = await workflow.execute_local_activity(
            la_greet, name, start_to_close_timeout=ten
        )
        flaky = await workflow.execute_local_activity(
            la_flaky,
            name,
            start_to_close_timeout=ten,
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=10)),
        )
        try:
            await workflow.execute_local_activity(
                la_refuse, name, start_to_close_timeout=ten
            )
            refused = "not refused"
        except (ActivityError, ApplicationError) as error:
            # Core hands a local activity's failure to Python as the activity raised it.
            cause = error.cause if isinstance(error, ActivityError) else error
            refused = str(cause.message if isinstance(cause, ApplicationError) else cause)
        return f"{greeting} {flaky} {refused}"


async def record(address: str, task_queue: str, workflow_id: str, name: str) -> dict:
    namespace = os.environ.get("TEMPORAL_NAMESPACE") or "default"
    client = await Client.connect(address, namespace=namespace)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[LocalActivityWorkflow],
        activities=[la_greet, la_flaky, la_refuse],
    ):
        handle = await client.start_workflow(
            LocalActivityWorkflow.run, name, id=workflow_id, task_queue=task_queue
        )
        result = await handle.result()
        history = await handle.fetch_history()
    return {"result": result, "history": json.loads(history.to_json())}


async def replay(history_json: str) -> dict:
    history = WorkflowHistory.from_json(f"replay-{uuid.uuid4()}", history_json)
    replayer = Replayer(workflows=[LocalActivityWorkflow])
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    if result.replay_failure is not None:
        return {"replayed": False, "error": str(result.replay_failure)}
    return {"replayed": True}


def main(argv) -> int:
    try:
        if len(argv) == 6 and argv[1] == "record":
            out = asyncio.run(record(argv[2], argv[3], argv[4], argv[5]))
        elif len(argv) == 2 and argv[1] == "replay":
            out = asyncio.run(replay(sys.stdin.read()))
        else:
            print(USAGE, file=sys.stderr)
            return 2
    except BaseException as error:
        print(f"local_activities.py: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(out), flush=True)
    return 0


def exit_now(code: int) -> None:
    """Exit without interpreter finalization (the SDK's native threads may still run)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main(sys.argv))
