#!/usr/bin/env python3
"""Start workflow type "HelloWorkflow" from Python and print its result as JSON.

Usage: start_hello.py ADDRESS TASK_QUEUE WORKFLOW_ID NAME [EXECUTION_TIMEOUT_SECONDS]

The workflow is started by type name (it is implemented elsewhere, e.g. by a Chronicle worker)
with NAME as its only argument. Prints the result as one line of JSON on stdout and exits 0;
on any failure prints the error (with its causes) on stderr and exits 1. Namespace: $TEMPORAL_NAMESPACE
or "default".
"""

import asyncio
import json
import os
import sys
from datetime import timedelta

USAGE = "usage: start_hello.py ADDRESS TASK_QUEUE WORKFLOW_ID NAME [EXECUTION_TIMEOUT_SECONDS]"


def describe(error: BaseException) -> str:
    """The error and its chain of causes, one per line."""
    lines = []
    seen = set()
    current = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        message = str(current) or "(no message)"
        lines.append(f"{type(current).__name__}: {message}")
        current = current.__cause__ or getattr(current, "cause", None)
    return "\n  caused by ".join(lines)


async def run(address: str, task_queue: str, workflow_id: str, name: str, timeout) -> object:
    from temporalio.client import Client

    namespace = os.environ.get("TEMPORAL_NAMESPACE") or "default"
    client = await Client.connect(address, namespace=namespace)
    return await client.execute_workflow(
        "HelloWorkflow",
        name,
        id=workflow_id,
        task_queue=task_queue,
        execution_timeout=timeout,
    )


def main(argv) -> int:
    if len(argv) not in (5, 6):
        print(USAGE, file=sys.stderr)
        return 2
    address, task_queue, workflow_id, name = argv[1:5]
    timeout = None
    if len(argv) == 6:
        try:
            seconds = float(argv[5])
        except ValueError:
            print(f"start_hello.py: bad EXECUTION_TIMEOUT_SECONDS {argv[5]!r}\n{USAGE}", file=sys.stderr)
            return 2
        if seconds > 0:
            timeout = timedelta(seconds=seconds)
    try:
        result = asyncio.run(run(address, task_queue, workflow_id, name, timeout))
    except KeyboardInterrupt:
        print("start_hello.py: interrupted", file=sys.stderr)
        return 130
    except BaseException as error:  # report every failure the same way
        print(f"start_hello.py: error: {describe(error)}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


def exit_now(code: int) -> None:
    """Exit without interpreter finalization: the SDK's native threads may still call into
    Python while it finalizes, which can abort an otherwise clean run."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main(sys.argv))
