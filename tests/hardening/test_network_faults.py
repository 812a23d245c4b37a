"""Hub and sink faults on real loopback sockets: bounded time, bounded retries, no token leak."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from kaizen_agentic.bundle import events
from kaizen_agentic.bundle.events import DeliveryError
from kaizen_agentic.fleet.hub import Client, HubError, Limits, fetch_repos
from kaizen_agentic.main import main
from tests.loopback import Reply, Seen, serve

TOKEN = "hub-token-" + "Zq9" * 10
EVENT = events.cloudevent(
    kind=events.PREPARED,
    event_id="kz-1",
    host="h",
    time_="2027-01-01T00:00:00+00:00",
    subject="s",
    schema=events.PREPARED_SCHEMA,
    data={},
)


class NoSleep(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@contextmanager
def resetting_server() -> Iterator[tuple[str, list[int]]]:
    """Accepts connections and resets them at once (SO_LINGER 0)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    accepted: list[int] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(1)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            with suppress(OSError):
                conn.recv(1024)
            conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join()
        listener.close()


def client(url: str, **limits: float) -> Client:
    return Client(url, TOKEN, Limits(**limits), sleep=NoSleep())  # type: ignore[arg-type]


def test_hub_connection_resets_are_retried_then_reported() -> None:
    with resetting_server() as (url, accepted), pytest.raises(HubError) as info:
        fetch_repos(client(url))
    assert len(accepted) == 4
    assert "did not answer after 4 attempts" in str(info.value)
    assert TOKEN not in str(info.value)


def test_sink_connection_resets_are_retried_then_reported() -> None:
    with resetting_server() as (url, accepted), pytest.raises(DeliveryError):
        events.post(url, EVENT, sleep=NoSleep())
    assert len(accepted) == 4


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_storms_are_bounded(status: int) -> None:
    with serve([Reply(status, headers=(("Retry-After", "1"),))]) as hub:
        c = client(hub.url)
        with pytest.raises(HubError, match=f"HTTP {status}"):
            fetch_repos(c)
    assert len(hub.seen) == 4
    assert c._sleep == [1.0, 1.0, 2.0]  # type: ignore[comparison-overlap]


def test_a_same_origin_redirect_loop_stops() -> None:
    with serve([Reply(302, headers=(("Location", "/repos/"),))]) as hub:
        with pytest.raises(HubError, match="more than 5 redirects"):
            fetch_repos(client(hub.url, attempts=1))
    assert len(hub.seen) == 6


def test_a_huge_body_is_cut_at_the_cap_without_reading_it_all() -> None:
    body = b"[" + b'{"slug": "a"},' * 200_000 + b'{"slug": "a"}]'
    with serve([Reply(200, body)]) as hub:
        with pytest.raises(HubError, match="the limit is 65536|more than 65536 bytes"):
            fetch_repos(client(hub.url, max_bytes=65536))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"null",
        b"42",
        b'"repos"',
        b"{",
        b'{"repos": 7}',
        b"\xff\xfe",
        b'{"items": [1, "two", null]}',
    ],
)
def test_malformed_bodies(body: bytes) -> None:
    with serve([Reply(200, body)]) as hub:
        try:
            records, _ = fetch_repos(client(hub.url))
        except HubError as exc:
            assert str(exc).startswith(f"hub {hub.url}/repos/ ")
        else:  # a list of junk records: each is reported on its own by the roster layer
            assert records == [1, "two", None]


def test_the_token_never_reaches_output_or_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAIZEN_HUB_TOKEN", TOKEN)

    def echo(seen: Seen) -> Reply:  # a hostile hub echoing the request headers back
        return Reply(500, json.dumps(seen.headers).encode())

    with serve(echo) as hub:
        code = main(["schedule", "discover", "--hub", hub.url + "/?token=" + TOKEN, "--json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert TOKEN not in out + err
    assert all(s.headers["authorization"] == f"Bearer {TOKEN}" for s in hub.seen)


def test_pagination_that_never_ends_is_capped() -> None:
    counter = iter(range(10**6))

    def endless(seen: Seen) -> Reply:
        return Reply(200, json.dumps({"items": [], "next": f"/repos/?p={next(counter)}"}).encode())

    with serve(endless) as hub, pytest.raises(HubError, match="more than 25 pages"):
        fetch_repos(client(hub.url, max_pages=25))
    assert len(hub.seen) == 25
