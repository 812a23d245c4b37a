"""Event delivery: the outbox and a real loopback sink, with retries and clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaizen_agentic.bundle import events
from kaizen_agentic.bundle.events import DeliveryError, append_outbox, cloudevent, post
from tests.loopback import Reply, closed_port_url, serve

EVENT = cloudevent(
    kind=events.PREPARED,
    event_id="kz-1",
    host="h",
    time_="2027-03-29T09:00:00+02:00",
    subject="acme/payments",
    schema=events.PREPARED_SCHEMA,
    data={"agent": "coach"},
)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_posts_one_structured_cloudevent() -> None:
    from cloudevents.core.bindings.http import HTTPMessage, from_http_event

    with serve([Reply(202)]) as sink:
        assert post(sink.url + "/events", EVENT) == 202
    (request,) = sink.seen
    assert (request.method, request.path) == ("POST", "/events")
    assert request.headers["content-type"] == "application/cloudevents+json"
    parsed = from_http_event(HTTPMessage(request.headers, request.body))
    assert parsed.get_id() == "kz-1" and parsed.get_data() == {"agent": "coach"}


def test_retries_503_then_succeeds() -> None:
    sleeps = Sleeps()
    with serve([Reply(503), Reply(503), Reply(200)]) as sink:
        assert post(sink.url, EVENT, sleep=sleeps) == 200
    assert len(sink.seen) == 3
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize(("header", "expected"), [("3", 3.0), ("0", 0.5)])
def test_honours_retry_after_seconds(header: str, expected: float) -> None:
    sleeps = Sleeps()
    with serve([Reply(429, headers=(("Retry-After", header),)), Reply(200)]) as sink:
        assert post(sink.url, EVENT, sleep=sleeps) == 200
    assert sleeps == [expected]


def test_honours_retry_after_as_an_http_date() -> None:
    import time
    from email.utils import formatdate

    sleeps = Sleeps()
    when = formatdate(time.time() + 5, usegmt=True)
    with serve([Reply(429, headers=(("Retry-After", when),)), Reply(200)]) as sink:
        post(sink.url, EVENT, sleep=sleeps)
    assert 3.0 <= sleeps[0] <= 6.0


def test_a_client_error_is_not_retried() -> None:
    with serve([Reply(400)]) as sink, pytest.raises(DeliveryError) as info:
        post(sink.url + "/e?token=abc", EVENT, sleep=Sleeps())
    assert len(sink.seen) == 1
    assert str(info.value) == f"sink {sink.url}/e refused the event: HTTP 400"


def test_a_redirect_is_not_followed() -> None:
    redirect = Reply(302, headers=(("Location", "http://elsewhere.invalid/"),))
    with serve([redirect]) as sink, pytest.raises(DeliveryError, match="the event: HTTP 302"):
        post(sink.url, EVENT, sleep=Sleeps())
    assert len(sink.seen) == 1


def test_a_sink_that_is_down_fails_after_bounded_attempts() -> None:
    sleeps = Sleeps()
    url = closed_port_url()
    with pytest.raises(DeliveryError) as info:
        post(url, EVENT, sleep=sleeps)
    assert str(info.value).startswith(f"could not deliver the event to {url} after 4 attempts: ")
    assert sleeps == [0.5, 1.0, 2.0]


def test_retries_stop_at_the_deadline() -> None:
    sleeps = Sleeps()
    busy = Reply(503, headers=(("Retry-After", "120"),))
    with serve([busy]) as sink, pytest.raises(DeliveryError, match="after 1 attempt: HTTP 503"):
        post(sink.url, EVENT, sleep=sleeps, deadline=30)
    assert sleeps == []


def test_credentials_never_appear_in_errors() -> None:
    with pytest.raises(DeliveryError) as info:
        post(
            closed_port_url().replace("http://", "http://user:pw123456@"),
            EVENT,
            sleep=Sleeps(),
            attempts=1,
        )
    assert "pw123456" not in str(info.value) and "user" not in str(info.value)


def test_outbox_appends_one_line_per_event(tmp_path: Path) -> None:
    box = tmp_path / "deep" / "outbox.jsonl"
    append_outbox(str(box), EVENT)
    box.write_bytes(box.read_bytes() + b'{"half": ')  # a writer killed mid-line
    append_outbox(str(box), EVENT)
    lines = box.read_bytes().split(b"\n")
    assert json.loads(lines[0]) == EVENT
    assert lines[1] == b'{"half": '
    assert json.loads(lines[2]) == EVENT
    assert box.stat().st_mode & 0o777 == 0o600


def test_many_waiting_events_are_delivered_in_one_outbox_write_each_once(tmp_path: Path) -> None:
    """A fleet tick's batch: one new event, one whose delivery was interrupted after its outbox
    line, one delivered already; then a sink that takes one event and refuses the next."""
    import os

    from kaizen_agentic.bundle.events import PENDING, SENDING, deliver_pending_many

    box = tmp_path / "box.jsonl"
    items = []
    for i in range(3):
        folder = tmp_path / f"b{i}"
        folder.mkdir()
        event = {**EVENT, "id": f"kz-{i}"}
        (folder / PENDING).write_text(json.dumps(event))
        items.append((str(folder), event))
    append_outbox(str(box), items[1][1])
    os.rename(tmp_path / "b1" / PENDING, tmp_path / "b1" / SENDING)
    os.unlink(tmp_path / "b2" / PENDING)
    assert deliver_pending_many(items, str(box), None) == (2, [])
    assert [json.loads(x)["id"] for x in box.read_text().splitlines()] == ["kz-1", "kz-0"]
    assert not list(tmp_path.glob("b*/.event.*"))
    assert deliver_pending_many(items, str(box), None) == (0, [])  # nothing waits any more

    for folder, _ in items[:2]:
        Path(folder, PENDING).write_text("{}")
    with serve([Reply(202), Reply(400)]) as sink:
        sent, refused = deliver_pending_many(items, None, sink.url)
    assert (sent, refused) == (1, [(items[1][0], f"sink {sink.url} refused the event: HTTP 400")])
    assert [p.parent.name for p in tmp_path.glob("b*/.event.*")] == ["b1"]  # left waiting
