#!/usr/bin/env python3
"""A Python worker serving the activity "py_compose_greeting" for interoperability tests.

Usage: activity_worker.py ADDRESS TASK_QUEUE

Prints READY on stdout once the worker runs (its namespace check passed), then serves until its
stdin is closed (the Rust test holding the other end decides how long it lives), shuts down and
exits 0. Exits 1, with the error on stderr, if the worker cannot start or fails. Namespace:
$TEMPORAL_NAMESPACE or "default".
"""

import asyncio
import os
import sys
import threading

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

USAGE = "usage: activity_worker.py ADDRESS TASK_QUEUE"


@activity.defn(name="py_compose_greeting")
async def py_compose_greeting(name: str) -> str:
    return f"Hello from Python, {name}!"


def stdin_closed(loop: asyncio.AbstractEventLoop) -> asyncio.Event:
    """An event set once stdin reaches end of file (read in a daemon thread, which never keeps
    the process alive)."""
    event = asyncio.Event()

    def read_until_eof() -> None:
        try:
            while sys.stdin.buffer.read(65536):
                pass
        except (OSError, ValueError):
            pass
        loop.call_soon_threadsafe(event.set)

    threading.Thread(target=read_until_eof, name="stdin-watch", daemon=True).start()
    return event


async def serve(address: str, task_queue: str) -> None:
    namespace = os.environ.get("TEMPORAL_NAMESPACE") or "default"
    client = await Client.connect(address, namespace=namespace)
    worker = Worker(client, task_queue=task_queue, activities=[py_compose_greeting])
    running = asyncio.create_task(worker.run())
    # The worker reports running once its namespace check passed and its pollers started.
    while not worker.is_running:
        if running.done():
            running.result()  # raises the reason it stopped
            raise RuntimeError("worker stopped before it ran")
        await asyncio.sleep(0.01)
    print("READY", flush=True)

    eof = asyncio.create_task(stdin_closed(asyncio.get_running_loop()).wait())
    done, _ = await asyncio.wait({running, eof}, return_when=asyncio.FIRST_COMPLETED)
    if running in done:
        eof.cancel()
        running.result()
        raise RuntimeError("worker stopped on its own")
    await worker.shutdown()
    await running


def main(argv) -> int:
    if len(argv) != 3:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(argv[1], argv[2]))
    except KeyboardInterrupt:
        return 130
    except BaseException as error:
        print(f"activity_worker.py: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


def exit_now(code: int) -> None:
    """Exit without interpreter finalization: the SDK's native threads may still call into
    Python while it finalizes, which can abort an otherwise clean run."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_now(main(sys.argv))
