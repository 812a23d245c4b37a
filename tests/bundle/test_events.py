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


def test_a_batch_is_appended_whole_and_its_ids_read_back_from_an_offset(tmp_path: Path) -> None:
    from kaizen_agentic.bundle.events import append_outbox_many, outbox_ids, outbox_size

    box = tmp_path / "outbox.jsonl"
    assert (outbox_size(str(box)), outbox_ids(str(box))) == (0, set())
    append_outbox(str(box), EVENT)
    offset = outbox_size(str(box))
    box.write_bytes(box.read_bytes() + b'{"id": "kz-torn')  # a writer killed mid-line
    append_outbox_many(str(box), [{**EVENT, "id": f"kz-{i}"} for i in (2, 3)])
    append_outbox_many(str(box), [])
    assert outbox_ids(str(box), offset) == {"kz-2", "kz-3"}
    assert outbox_ids(str(box)) == {"kz-1", "kz-2", "kz-3"}
    box.write_bytes(b"")  # rotated by its reader: an offset past the end reads it all
    append_outbox(str(box), EVENT)
    assert outbox_ids(str(box), offset + 1000) == {"kz-1"}
