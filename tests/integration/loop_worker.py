"""One runner host for the loop test, in its own process: the host's kaizen workers
(``host_workers``, as examples/temporal_worker.py runs them), the example ``KaizenLoop``
workflow, and a fake agent in place of activity-core's: it writes an answer for the bundle,
after waiting while the gate file exists (so the test can kill a host mid-run)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

from temporal_loop import KaizenLoop  # noqa: E402

from kaizen_agentic.integrations.temporal import host_queue, host_workers  # noqa: E402

ANSWER = """\
Looked at {slug} for {agent}.

```kaizen-result
{result}
```
"""


def fake_agent(host: str, gate: Path, answers: Path) -> object:
    @activity.defn(name="agent.run")
    def run(bundle_path: str) -> str:
        manifest = json.loads((Path(bundle_path) / "manifest.json").read_text())
        key, slug, agent = manifest["key"], manifest["repo"]["slug"], manifest["agent"]["name"]
        (gate.parent / f"started-{host}-{key}").touch()
        while gate.exists():
            time.sleep(0.1)
        result = {
            "outcome": "success",
            "summary": f"ran on {host}",
            "learnings": [{"text": f"{agent} ran for {slug} on {host} ({key}).", "pinned": False}],
        }
        answer = answers / f"{key}.md"
        answer.write_text(ANSWER.format(slug=slug, agent=agent, result=json.dumps(result)))
        return str(answer)

    return run


async def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--address", "--hostname", "--task-queue", "--out", "--gate", "--answers"):
        parser.add_argument(name, required=True)
    args = parser.parse_args()
    answers = Path(args.answers)
    answers.mkdir(parents=True, exist_ok=True)
    client = await Client.connect(args.address)
    pool = ThreadPoolExecutor(8)
    workers = host_workers(
        client, hostname=args.hostname, task_queue=args.task_queue, out_dir=args.out
    )
    workers.append(
        Worker(
            client,
            task_queue=host_queue("agents", args.hostname),
            activities=[fake_agent(args.hostname, Path(args.gate), answers)],
            activity_executor=pool,
        )
    )
    workers.append(Worker(client, task_queue=f"{args.task_queue}-loop", workflows=[KaizenLoop]))
    await asyncio.gather(*(w.run() for w in workers))


if __name__ == "__main__":
    asyncio.run(main())
