#!/usr/bin/env python3
"""Send updates to a running workflow from the Temporal Python SDK, by name.

Usage: update_client.py ADDRESS WORKFLOW_ID UPDATE_NAME ARG_JSON [ARG_JSON ...]

Executes update UPDATE_NAME once per ARG_JSON (each a JSON value, the update's one argument)
and prints one line of JSON: a list with, per update, {"result": ...} or {"error": message,
"cause": message of the failure's cause or null}. Exits 1 on any other failure, with the error
on stderr. Namespace: $TEMPORAL_NAMESPACE or "default".
"""

import asyncio
import json
import os
import sys

USAGE = "usage: update_client.py ADDRESS WORKFLOW_ID UPDATE_NAME ARG_JSON [ARG_JSON ...]"


async def run(address: str, workflow_id: str, name: str, args: list) -> list:
    from temporalio.client import Client, WorkflowUpdateFailedError

    namespace = os.environ.get("TEMPORAL_NAMESPACE") or "default"
    client = await Client.connect(address, namespace=namespace)
    handle = client.get_workflow_handle(workflow_id)
    outcomes = []
    for arg in args:
        try:
            outcomes.append({"result": await handle.execute_update(name, arg)})
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            outcomes.append(
                {"error": str(error), "cause": str(cause) if cause is not None else None}
            )
    return outcomes


def main(argv) -> int:
    if len(argv) < 5:
        print(USAGE, file=sys.stderr)
        return 2
    address, workflow_id, name = argv[1:4]
    try:
        args = [json.loads(arg) for arg in argv[4:]]
    except ValueError as error:
        print(f"update_client.py: bad ARG_JSON: {error}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(run(address, workflow_id, name, args))
    except BaseException as error:  # report every failure the same way
        print(f"update_client.py: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalization: the SDK's native threads may still call into Python.
    os._exit(code)
