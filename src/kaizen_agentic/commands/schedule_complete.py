"""``kaizen-agentic schedule complete BUNDLE --result FILE``: close the kaizen loop."""

from __future__ import annotations

import os
import sys

from kaizen_agentic import output
from kaizen_agentic.bundle.events import deliver
from kaizen_agentic.commands.options import parse_at
from kaizen_agentic.errors import KaizenError, UsageError


def run(
    *,
    result: str | None,
    bundle: str | None,
    at: str | None,
    as_json: bool,
    outbox: str | None,
    sink: str | None,
) -> int:
    from kaizen_agentic.atomic import read_capped
    from kaizen_agentic.bundle.events import DeliveryError
    from kaizen_agentic.bundle.result import complete, parse_result

    if bundle is None or result is None:  # the command line requires both
        raise UsageError("name the BUNDLE and its --result")
    if result == "-":
        data, name = sys.stdin.buffer.read(1024 * 1024 + 1), "<stdin>"
    else:
        try:
            data, name = read_capped(result, 1024 * 1024), result
        except FileNotFoundError:
            raise KaizenError(f"{result}: no such file") from None
        except (OSError, ValueError) as exc:
            raise KaizenError(f"{result}: {exc}") from None
    parsed = parse_result(data, name)
    done = complete(bundle, parsed, at=parse_at(at), host=os.uname().nodename)
    if done.status == "already-completed":
        message = f"already completed: {bundle} (nothing changed)\n"
        sys.stdout.write(output.to_json({"status": done.status}) if as_json else message)
        return 0
    assert done.event is not None
    try:
        deliver(done.event, outbox, sink)
    except DeliveryError as exc:
        raise KaizenError(f"result recorded, but {exc}") from None
    if as_json:
        sys.stdout.write(output.to_json(done.event))
    else:
        learned = done.event["data"]["learnings_added"]
        sys.stdout.write(
            f"completed: {done.event['data']['outcome']} recorded in {done.metrics_path}\n"
            + (
                f"  memory   {learned} entr{'y' if learned == 1 else 'ies'} added to "
                f"{done.memory_path}\n"
                if learned
                else ""
            )
            + f"  event    {done.event['id']}\n"
        )
    return 0
