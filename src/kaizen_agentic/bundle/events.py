"""CloudEvents 1.0 (structured JSON) for prepared and completed runs, and their delivery.

Events are deterministic: the same bundle gives the same event, byte for byte, so a consumer
deduplicates redeliveries by ``id`` (the bundle's idempotency key). ``time`` is the schedule
slot, the moment the occurrence belongs to, not the moment the event was written.

Delivery: ``append_outbox`` appends one JSON line under a lock; ``post`` sends CloudEvents
HTTP structured mode (``application/cloudevents+json``) with bounded retries and backoff.

At least once: a bundle is written with its prepared event inside it (``PENDING``), in the same
atomic rename, so a bundle never exists without its event waiting. ``deliver_pending`` claims
the event under a lock, marks it ``SENDING``, delivers it and removes the mark. A run killed at
any moment leaves the mark, and the next run that meets the bundle (``exists``) sends it again;
a run killed mid-delivery leaves ``SENDING``, and the next one first looks for the event in the
outbox, so the outbox holds it once. A sink may see it twice; consumers deduplicate by ``id``.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Final

from kaizen_agentic import output
from kaizen_agentic.errors import KaizenError

if TYPE_CHECKING:
    from collections.abc import Sequence

PREPARED: Final = "kaizen.schedule.prepared"
COMPLETED: Final = "kaizen.schedule.completed"
PREPARED_SCHEMA: Final = "urn:kaizen-agentic:schema:prepared-event:v1"
COMPLETED_SCHEMA: Final = "urn:kaizen-agentic:schema:completed-event:v1"
MAX_EVENT_BYTES: Final = 64 * 1024
PENDING: Final = ".event.json"  # in a bundle folder: its prepared event, not yet delivered
SENDING: Final = ".event.sending"  # the same, while (or since) a delivery was under way
CONTENT_TYPE: Final = "application/cloudevents+json"
HOST_ATTRIBUTE: Final = "kaizenhost"


def source(slug: str) -> str:
    """The CloudEvents ``source`` of a repository's events: the repository, never the host
    that made them. Consumers deduplicate on ``source`` + ``id``; a slot prepared again on
    another host (a checkout that moved, a failover) must be the same event to them."""
    return f"urn:kaizen-agentic:repo:{slug}"


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
    """A structured-mode CloudEvent as a dict: ``source`` names the repository (``subject``,
    its slug) and the ``kaizenhost`` extension attribute the host that made it."""
    event: dict[str, Any] = {
        "specversion": "1.0",
        "type": kind,
        "source": source(subject),
        "id": event_id,
        "time": time_,
        "subject": subject,
        "datacontenttype": "application/json",
        "dataschema": schema,
        HOST_ATTRIBUTE: host,
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


def append_outbox(path: str, event: dict[str, Any], unless_present: bool = False) -> None:
    """Append the event as one JSON line; concurrent writers are serialised by ``flock``.

    ``unless_present``: first look for the event's id in the outbox (a byte scan), and append
    nothing when it is there: for an event whose earlier delivery was interrupted."""
    _append(path, [event], event["id"] if unless_present else None)


def append_outbox_many(path: str, batch: list[dict[str, Any]]) -> None:
    """Append the events as JSON lines under one lock, in one write and one fsync: a fleet
    tick delivers thousands, and a sync per event would cost more than preparing them."""
    _append(path, batch, None)


def _append(path: str, batch: list[dict[str, Any]], unless_id: str | None) -> None:
    import fcntl

    from kaizen_agentic.atomic import append_line

    if not batch:
        return
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise KaizenError(f"cannot open outbox {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if not (unless_id and _holds(fd, unless_id)):
            append_line(fd, b"\n".join(encode(event) for event in batch))
    finally:
        os.close(fd)


def _holds(fd: int, event_id: str) -> bool:
    """Whether the outbox holds a whole event with this id (a line torn by a crash does not
    count). A byte scan first; lines are parsed only when the id is in the file at all."""
    from kaizen_agentic.atomic import file_contains

    needle = encode({"id": event_id})[1:-1]
    if not file_contains(fd, needle):
        return False
    import json

    with open(os.dup(fd), "rb") as lines:
        lines.seek(0)
        for line in lines:
            if needle in line:
                try:
                    if json.loads(line).get("id") == event_id:
                        return True
                except (ValueError, AttributeError):
                    continue
    return False


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


def deliver_pending(
    bundle: str, event: dict[str, Any], outbox: str | None, sink: str | None
) -> bool:
    """Deliver the bundle's prepared event if it is still pending (see the module's note).

    Returns True when this call delivered it; False when it was delivered already, another
    process is delivering it, or there is nowhere to deliver to. A sink failure raises
    ``DeliveryError`` and leaves the event pending for the next run."""
    from kaizen_agentic.atomic import fsync_dir

    if not (outbox or sink):
        return False
    claimed = _claim(bundle)
    if claimed is None:
        return False
    fd, resumed = claimed
    try:
        if outbox:
            append_outbox(outbox, event, unless_present=resumed)
        if sink:
            post(sink, event)
        os.unlink(os.path.join(bundle, SENDING))
        fsync_dir(bundle)
    finally:
        os.close(fd)  # releases the claim
    return True


def deliver_pending_many(
    items: Sequence[tuple[str, dict[str, Any]]], outbox: str | None, sink: str | None
) -> tuple[int, list[tuple[str, str]]]:
    """``deliver_pending`` for many bundles at once, as a fleet tick delivers thousands: each
    claimed as ``deliver_pending`` claims it, the outbox written once for all (one lock, one
    write, one sync), then each mark removed. Returns how many this call delivered, and
    ``(bundle, why)`` for each the sink refused (left pending for the next run)."""
    from kaizen_agentic.atomic import fsync_dir

    if not (outbox or sink):
        return 0, []
    claimed: list[tuple[str, dict[str, Any], int]] = []
    refused: list[tuple[str, str]] = []
    fresh: list[dict[str, Any]] = []
    try:
        for bundle, event in items:
            claim = _claim(bundle)
            if claim is None:
                continue
            fd, resumed = claim
            claimed.append((bundle, event, fd))
            if not outbox:
                continue
            if resumed:  # an interrupted delivery: the outbox may hold it already
                append_outbox(outbox, event, unless_present=True)
            else:
                fresh.append(event)
        if outbox:
            append_outbox_many(outbox, fresh)
        for bundle, event, _ in claimed:
            if sink:
                try:
                    post(sink, event)
                except DeliveryError as exc:
                    refused.append((bundle, str(exc)))
                    continue
            os.unlink(os.path.join(bundle, SENDING))
            fsync_dir(bundle)
    finally:
        for _, _, fd in claimed:
            os.close(fd)  # releases the claims
    return len(claimed) - len(refused), refused


def _claim(bundle: str) -> tuple[int, bool] | None:
    """Lock the bundle's pending event and mark it ``SENDING``: the descriptor holding the lock
    and whether an earlier delivery was interrupted; None when there is nothing to claim."""
    import fcntl

    from kaizen_agentic.atomic import fsync_dir

    pending, sending = os.path.join(bundle, PENDING), os.path.join(bundle, SENDING)
    for path in (sending, pending):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue  # none (or not ours: a link is no event of a bundle)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None  # another process holds it and is delivering it
        # Under the lock the file's name is settled: it may have moved or gone since we opened
        # it (a process that held it renamed it, then delivered it or was killed).
        if _names(sending, fd):
            return fd, True
        if _names(pending, fd):
            os.rename(pending, sending)  # the file, and our lock on it, move along
            fsync_dir(bundle)
            return fd, False
        os.close(fd)
        return None  # delivered and removed
    return None


def _names(path: str, fd: int) -> bool:
    """Whether ``path`` is the file open as ``fd``."""
    try:
        there = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    here = os.fstat(fd)
    return (there.st_dev, there.st_ino) == (here.st_dev, here.st_ino)
