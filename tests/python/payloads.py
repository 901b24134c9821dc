#!/usr/bin/env python3
"""Payload interoperability with Chronicle: bytes, protobuf messages and encoded failures.

Usage:
  payloads.py bytes ADDRESS TASK_QUEUE WORKFLOW_ID HEX
      Runs workflow "BytesWorkflow" with bytes.fromhex(HEX); prints {"result_hex": ..}.
  payloads.py proto ADDRESS TASK_QUEUE WORKFLOW_ID
      Runs workflow "ProtoWorkflow" with WorkflowExecution(workflow_id="wf-a", run_id="run-b");
      prints the WorkflowExecution it returns as {"workflow_id": .., "run_id": ..}.
  payloads.py failed-workflow ADDRESS TASK_QUEUE WORKFLOW_ID
      Runs workflow "FailsEncoded", which must fail; prints {"message": .., "stack_trace": ..}
      of the failure's cause, as the default failure converter reads it.
  payloads.py declining-activity ADDRESS RUST_QUEUE PY_QUEUE WORKFLOW_ID
      Serves activity "py_decline" on PY_QUEUE with encode_common_attributes=True, runs workflow
      "SeesPythonFailure" (PY_QUEUE as its argument) and prints {"result": ..}.

Exits 1 with the error on stderr on any unexpected failure. Namespace: $TEMPORAL_NAMESPACE or
"default".
"""

import asyncio
import dataclasses
import json
import os
import sys

from temporalio import activity
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.client import Client, WorkflowFailureError
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker


@activity.defn(name="py_decline")
async def py_decline(amount: int) -> str:
    raise ApplicationError(f"card declined for {amount}", type="Declined", non_retryable=True)


async def connect(address: str, **kwargs) -> Client:
    namespace = os.environ.get("TEMPORAL_NAMESPACE") or "default"
    return await Client.connect(address, namespace=namespace, **kwargs)


async def run(argv) -> dict:
    mode, address = argv[1], argv[2]
    if mode == "bytes":
        task_queue, workflow_id, hex_input = argv[3:6]
        client = await connect(address)
        result = await client.execute_workflow(
            "BytesWorkflow", bytes.fromhex(hex_input), id=workflow_id,
            task_queue=task_queue, result_type=bytes,
        )
        return {"result_hex": result.hex()}
    if mode == "proto":
        task_queue, workflow_id = argv[3:5]
        client = await connect(address)
        result = await client.execute_workflow(
            "ProtoWorkflow", WorkflowExecution(workflow_id="wf-a", run_id="run-b"),
            id=workflow_id, task_queue=task_queue, result_type=WorkflowExecution,
        )
        return {"workflow_id": result.workflow_id, "run_id": result.run_id}
    if mode == "failed-workflow":
        task_queue, workflow_id = argv[3:5]
        client = await connect(address)
        try:
            await client.execute_workflow("FailsEncoded", id=workflow_id, task_queue=task_queue)
        except WorkflowFailureError as error:
            cause = error.cause
            return {"message": cause.message, "stack_trace": cause.failure.stack_trace if cause.failure else ""}
        raise RuntimeError("FailsEncoded did not fail")
    if mode == "declining-activity":
        rust_queue, py_queue, workflow_id = argv[3:6]
        converter = dataclasses.replace(
            DataConverter.default,
            failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
        )
        client = await connect(address, data_converter=converter)
        async with Worker(client, task_queue=py_queue, activities=[py_decline]):
            result = await client.execute_workflow(
                "SeesPythonFailure", py_queue, id=workflow_id, task_queue=rust_queue,
            )
        return {"result": result}
    raise RuntimeError(f"unknown mode {mode!r}")


def main(argv) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        result = asyncio.run(run(argv))
    except BaseException as error:
        print(f"payloads.py: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


def exit_now(code: int) -> None:
    """Exit without interpreter finalization (the SDK's native threads may still run)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main(sys.argv))
