"""A runner host for the tick model, in a few lines: ``python examples/temporal_worker.py``.

Run one on every host that holds checkouts. It polls the fleet's shared queue (the FleetTick
workflow, roster reads) and its own ``<queue>@<hostname>`` (its share of each tick: discovery
and prepares in ``--jobs`` processes; completes) on the checkouts this host holds. Needs
``pip install 'kaizen-agentic[temporal]'``.
"""

from __future__ import annotations

import argparse
import asyncio

from temporalio.client import Client

from kaizen_agentic.integrations.temporal import TASK_QUEUE, run_host


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="localhost:7233", help="Temporal frontend")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--hostname", help="this host's name in the roster (default: uname)")
    parser.add_argument("--task-queue", default=TASK_QUEUE)
    parser.add_argument("--out", help="bundle folder (default: $KAIZEN_BUNDLE_DIR or the cache)")
    parser.add_argument("--jobs", type=int, help="prepare processes (default: cores, up to 8)")
    parser.add_argument("--threads", type=int, default=4, help="activities at once (default: 4)")
    parser.add_argument("--outbox", help="append each new bundle's event to this JSON-lines file")
    parser.add_argument("--sink", help="POST each new bundle's event to this URL")
    args = parser.parse_args()
    client = await Client.connect(args.address, namespace=args.namespace)
    await run_host(
        client,
        hostname=args.hostname,
        task_queue=args.task_queue,
        out_dir=args.out,
        jobs=args.jobs,
        threads=args.threads,
        outbox=args.outbox,
        sink=args.sink,
    )


if __name__ == "__main__":
    asyncio.run(main())
