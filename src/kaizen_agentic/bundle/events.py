"""CloudEvents 1.0 (structured JSON) for prepared and completed runs, and their delivery.

Events are deterministic: the same bundle gives the same event, byte for byte, so a consumer
deduplicates redeliveries by ``id`` (the bundle's idempotency key). ``time`` is the schedule
slot, the moment the occurrence belongs to, not the moment the event was written.

Delivery: ``append_outbox`` appends one JSON line under a lock; ``post`` sends CloudEvents
HTTP structured mode (``application/cloudevents+json``) with bounded retries and backoff.
"""

from __future__ import annotations

import os
import time
from typing import Any, Final

from kaizen_agentic import output
from kaizen_agentic.errors import KaizenError

PREPARED: Final = "kaizen.schedule.prepared"
COMPLETED: Final = "kaizen.schedule.completed"
PREPARED_SCHEMA: Final = "urn:kaizen-agentic:schema:prepared-event:v1"
COMPLETED_SCHEMA: Final = "urn:kaizen-agentic:schema:completed-event:v1"
MAX_EVENT_BYTES: Final = 64 * 1024
CONTENT_TYPE: Final = "application/cloudevents+json"


def source(hostname: str) -> str:
    """The CloudEvents ``source`` of events made on ``hostname``."""
    return f"urn:kaizen-agentic:{hostname}"


def cloudevent(
    *,
    kind: str,
    event_id: str,
    host: str,
    time_: str,
    subject: str,
    schema: str,
    data: dict[str, Any],
    dataref: str | None = None,
) -> dict[str, Any]:
    """A structured-mode CloudEvent as a dict."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "type": kind,
        "source": source(host),
        "id": event_id,
        "time": time_,
        "subject": subject,
        "datacontenttype": "application/json",
        "dataschema": schema,
        "data": data,
    }
    if dataref is not None:
        event["dataref"] = dataref
    encoded = encode(event)
    if len(encoded) > MAX_EVENT_BYTES:
        raise KaizenError(f"event is {len(encoded)} bytes; the limit is {MAX_EVENT_BYTES}")
    return event


def encode(event: dict[str, Any]) -> bytes:
    """The event as compact, sorted JSON bytes."""
    return output.compact_json(event).encode()


def append_outbox(path: str, event: dict[str, Any]) -> None:
    """Append the event as one JSON line; concurrent writers are serialised by ``flock``."""
    import fcntl

    from kaizen_agentic.atomic import append_line

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise KaizenError(f"cannot open outbox {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        append_line(fd, encode(event))
    finally:
        os.close(fd)


class DeliveryError(KaizenError):
    """The sink did not accept the event within the retry budget."""


def post(
    url: str,
    event: dict[str, Any],
    *,
    attempts: int = 4,
    timeout: float = 10.0,
    deadline: float = 30.0,
    backoff: float = 0.5,
    sleep: Any = None,
) -> int:
    """POST the event through ``transport``: connection errors, 408, 429 and 5xx are retried
    with backoff, honouring ``Retry-After``; a redirect is not followed (a sink that redirects
    is misconfigured). Returns the HTTP status. Raises ``DeliveryError`` when all tries fail."""
    # Imported here, not at module level: `prepare` imports this module, and most prepares
    # never post (the sink is optional), so start-up does not pay for the HTTP client.
    from kaizen_agentic.transport import Client, Limits, TransportError, shown

    class Sink(Client):
        what = "sink"
        follow_redirects = False
        accept = "*/*"

    limits = Limits(timeout, timeout, deadline, attempts, backoff, 1 << 20)
    try:
        sink = Sink(url, limits=limits, sleep=time.sleep if sleep is None else sleep)
        reply = sink.request("POST", url, encode(event), content_type=CONTENT_TYPE)
    except TransportError as exc:
        if not exc.attempts:
            raise DeliveryError(str(exc)) from None
        raise DeliveryError(
            f"could not deliver the event to {shown(url)} after {exc.attempts} "
            f"attempt{'s' if exc.attempts != 1 else ''}: {exc.last}"
        ) from None
    if reply.status >= 300:
        raise DeliveryError(f"sink {shown(url)} refused the event: HTTP {reply.status}")
    return reply.status


def deliver(event: dict[str, Any], outbox: str | None, sink: str | None) -> None:
    """Write the event where asked; a sink failure raises after the outbox is written."""
    if outbox:
        append_outbox(outbox, event)
    if sink:
        post(sink, event)
