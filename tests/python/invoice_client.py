#!/usr/bin/env python3
"""Signal and query a running InvoiceWorkflow from the Temporal Python SDK, by name.

Usage: invoice_client.py ADDRESS WORKFLOW_ID AMOUNT_CENTS REFERENCE

Queries "status", signals "payment_received" with {"amount_cents": AMOUNT_CENTS, "reference":
REFERENCE}, waits for the workflow's result, queries "status" again (now answered from the
closed workflow's history) and prints {"before": ..., "receipt": ..., "after": ...} as one line
of JSON. On any failure prints the error on stderr and exits 1. Namespace: $TEMPORAL_NAMESPACE
or "default".
"""

import asyncio
import json
import os
import sys

USAGE = "usage: invoice_client.py ADDRESS WORKFLOW_ID AMOUNT_CENTS REFERENCE"


async def run(address: str, workflow_id: str, amount_cents: int, reference: str) -> dict:
    from temporalio.client import Client

    namespace = os.environ.get("TEMPORAL_NAMESPACE") or "default"
    client = await Client.connect(address, namespace=namespace)
    handle = client.get_workflow_handle(workflow_id)
    before = await handle.query("status")
    await handle.signal(
        "payment_received", {"amount_cents": amount_cents, "reference": reference}
    )
    receipt = await handle.result()
    after = await handle.query("status")
    return {"before": before, "receipt": receipt, "after": after}


def main(argv) -> int:
    if len(argv) != 5:
        print(USAGE, file=sys.stderr)
        return 2
    address, workflow_id, amount, reference = argv[1:5]
    try:
        amount_cents = int(amount)
    except ValueError:
        print(f"invoice_client.py: bad AMOUNT_CENTS {amount!r}\n{USAGE}", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(run(address, workflow_id, amount_cents, reference))
    except BaseException as error:  # report every failure the same way
        print(f"invoice_client.py: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter finalization: the SDK's native threads may still call into Python.
    os._exit(code)
