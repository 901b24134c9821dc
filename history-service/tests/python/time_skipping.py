"""Runs a 30-day workflow on the Python SDK's time-skipping environment, served by the
chronicle-test-server binary given as argv[1]; prints one line of JSON."""

import asyncio
import json
import os
import sys
import time

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker


@workflow.defn
class Sleeper:
    @workflow.run
    async def run(self) -> str:
        await asyncio.sleep(30 * 24 * 3600)
        return "done"


async def main() -> None:
    wall = time.monotonic()
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=sys.argv[1])
    async with env:
        before = await env.get_current_time()
        async with Worker(
            env.client,
            task_queue="sleepers",
            workflows=[Sleeper],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            result = await env.client.execute_workflow(
                Sleeper.run, id="sleeper", task_queue="sleepers"
            )
            after = await env.get_current_time()
            await env.sleep(3600)
            slept = await env.get_current_time()
    print(
        json.dumps(
            {
                "result": result,
                "skipped_secs": (after - before).total_seconds(),
                "env_sleep_secs": (slept - after).total_seconds(),
                "wall_secs": time.monotonic() - wall,
            }
        )
    )


asyncio.run(main())
sys.stdout.flush()
# Skip interpreter finalization: the SDK's native threads may still call into Python while it
# finalizes, which can abort an otherwise clean run.
os._exit(0)
