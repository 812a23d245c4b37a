"""A hostile hub (issue 21, rows 2, 4, 15 and 20): the token stays on the hub's origin, the
deadline covers the status line and headers, a malformed token is a clear error and never lands
in a log, and a page of millions of records is refused before it is parsed."""

from __future__ import annotations

import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from kaizen_agentic import transport
from kaizen_agentic.fleet import hub
from kaizen_agentic.fleet.hub import Client, HubError, Limits, fetch_repos
from kaizen_agentic.main import main, scrub
from tests.loopback import Reply, Seen, serve

TOKEN = "hubtoken-" + "Xq7" * 12
ROOT = Path(__file__).resolve().parents[2]
RECORD = {"slug": "acme/a", "host_paths": {"runner-1": "/srv/a"}}


class NoSleep(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(url: str, **limits: float) -> Client:
    return Client(url, TOKEN, Limits(**limits), sleep=NoSleep())  # type: ignore[arg-type]


def page(doc: object, *headers: tuple[str, str]) -> Reply:
    return Reply(200, json.dumps(doc).encode(), (("Content-Type", "application/json"), *headers))


# --- row 2: one origin for every request that carries the token ------------------------------

# How a first page can name its next page on another origin: {other} is a second loopback
# server (another port, so another origin), {port} this hub's port.
LINKS = [
    ("body next, another port", lambda other, port: ({"items": [], "next": other + "/p2"}, ())),
    (
        "body next as an object",
        lambda other, port: ({"items": [], "next": {"href": other + "/p2"}}, ()),
    ),
    (
        "Link header",
        lambda other, port: ([], (("Link", f'<{other}/p2>; rel="next"'),)),
    ),
    (
        "Link header, unquoted rel among others",
        lambda other, port: ([], (("Link", f'</p0>; rel="prev", <{other}/p2>; rel=next'),)),
    ),
    ("protocol-relative next", lambda other, port: ({"items": [], "next": "//" + other[7:]}, ())),
    (
        "userinfo that looks like this host",
        lambda other, port: ({"items": [], "next": f"http://127.0.0.1:{port}@{other[7:]}/"}, ()),
    ),
]


@pytest.mark.parametrize("make", [m for _, m in LINKS], ids=[n for n, _ in LINKS])
def test_a_pagination_link_to_another_origin_is_refused_and_gets_no_token(make: object) -> None:
    with serve([Reply(200, b"[]")]) as other:
        port = int(other.url.rsplit(":", 1)[1])

        def first(seen: Seen) -> Reply:
            doc, headers = make(other.url, hub_port)  # type: ignore[operator]
            return page(doc, *headers)

        with serve(first) as server:
            hub_port = int(server.url.rsplit(":", 1)[1])
            with pytest.raises(HubError) as info:
                fetch_repos(client(server.url))
    assert other.seen == []  # the other origin was never asked, so never saw the token
    target = str(info.value).split("(", 1)[1].split(")", 1)[0]
    assert str(info.value) == (
        f"hub {server.url}/ linked to another origin ({target}); not following"
    )
    assert str(port) in target and TOKEN not in str(info.value)


def test_a_scheme_change_on_the_same_host_is_another_origin() -> None:
    def first(seen: Seen) -> Reply:
        return page({"items": [], "next": server.url.replace("http:", "https:") + "/p2"})

    with serve(first) as server, pytest.raises(HubError, match="linked to another origin"):
        fetch_repos(client(server.url))
    assert len(server.seen) == 1


def test_a_same_origin_link_in_other_spelling_is_followed() -> None:
    def script(seen: Seen) -> Reply:
        if seen.path.startswith("/p2"):
            return page([RECORD])
        return page({"items": [], "next": server.url.replace("http://", "HTTP://") + "/p2"})

    with serve(script) as server:
        assert fetch_repos(client(server.url))[0] == [RECORD]
    assert [s.headers["authorization"] for s in server.seen] == [f"Bearer {TOKEN}"] * 2


def test_the_cli_exits_1_and_the_other_origin_never_sees_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAIZEN_HUB_TOKEN", TOKEN)
    with serve([Reply(200, b"[]")]) as other:
        with serve([page([RECORD], ("Link", f"<{other.url}/steal>; rel=next"))]) as server:
            code = main(["schedule", "discover", "--hub", server.url, "--hostname", "runner-1"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == (
        f"kaizen-agentic: error: hub {server.url}/ linked to another origin "
        f"({other.url}/steal); not following\n"
    )
    assert other.seen == [] and TOKEN not in err


# A next link, Link header or redirect a request cannot be made to: a clear error, exit 1,
# not a crash (ValueError from the port, http.client.InvalidURL from a space).
MALFORMED = [
    ("port out of range", {"next": "http://127.0.0.1:99999/p"}, (), None,
     "a malformed URL (port out of range 0-65535)"),
    ("port not a number", {"next": "http://127.0.0.1:abc/p"}, (), None,
     "a malformed URL (port could not be cast to integer value)"),
    ("broken IPv6", {"next": "http://[::1/p"}, (), None, "a malformed next link"),
    ("space", {"next": "/page2 x"}, (), None,
     "a malformed URL (it holds a space, a control character or a character that is not ASCII)"),
    ("Link header, bad port", {}, (("Link", "<http://127.0.0.1:99999/p>; rel=next"),), None,
     "a malformed URL (port out of range 0-65535)"),
    ("redirect, bad port", None, (), "http://127.0.0.1:99999/p",
     "redirected to a malformed URL (port out of range 0-65535)"),
    ("redirect, space", None, (), "/p 2",
     "redirected to a malformed URL (it holds a space, a control character or a character that "
     "is not ASCII)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "headers", "location", "message"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_a_malformed_link_is_a_clear_error(
    body: dict[str, object] | None,
    headers: tuple[tuple[str, str], ...],
    location: str | None,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("KAIZEN_HUB_TOKEN", TOKEN)
    if location is not None:
        first = Reply(302, b"", (("Location", location),))
    else:
        first = page({"items": [RECORD], **(body or {})}, *headers)
    with serve([first]) as server:
        code = main(["schedule", "discover", "--hub", server.url, "--hostname", "runner-1"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.startswith(f"kaizen-agentic: error: hub {server.url}") and message in err, err
    assert len(server.seen) == 1 and TOKEN not in err


@pytest.mark.parametrize("link", ['<{url}/p2>; REL="NEXT"', '<{url}/p2>; rel="next last"'])
def test_a_link_relation_is_read_as_rfc_8288_says(link: str) -> None:
    def script(seen: Seen) -> Reply:
        if seen.path.startswith("/p2"):
            return page([RECORD])
        return page([], ("Link", link.format(url=server.url)))

    with serve(script) as server:
        assert fetch_repos(client(server.url))[0] == [RECORD]


def test_json_nested_too_deeply_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = b'{"repos": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with serve([Reply(200, deep, (("Content-Type", "application/json"),))]) as server:
        with pytest.raises(HubError) as info:
            fetch_repos(client(server.url))
    assert str(info.value) == f"hub {server.url}/repos/ sent JSON nested too deeply"
    roster = tmp_path / "deep.json"
    roster.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    code = main(["schedule", "discover", "--roster", str(roster), "--hostname", "runner-1"])
    assert code == 1
    assert capsys.readouterr().err == (
        f"kaizen-agentic: error: roster {roster}: JSON nested too deeply\n"
    )


def test_every_request_passes_the_origin_rule() -> None:
    """Not only pagination: any request a client is asked to make (the event sink's, a
    redirect's, a caller's) goes to its own origin or nowhere."""
    with serve([Reply(200, b"[]")]) as other, serve([Reply(200, b"[]")]) as server:
        c = client(server.url)
        with pytest.raises(HubError) as info:
            c.request("GET", other.url + "/repos/")
    assert other.seen == []
    assert str(info.value) == (
        f"hub {server.url}/ was asked for another origin ({other.url}/repos/); not following"
    )


# --- row 4: the deadline covers the status line and the headers --------------------------------


@contextmanager
def trickling_server(data: bytes, every: float, tls_record: bool = False) -> Iterator[str]:
    """Accepts connections and sends ``data`` one byte every ``every`` seconds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with suppress(OSError), conn:
            conn.settimeout(0.1)
            with suppress(OSError):
                conn.recv(65536)
            for byte in data:
                if stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                stop.wait(every)

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    scheme = "https" if tls_record else "http"
    try:
        yield f"{scheme}://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


# A status line and headers that would take minutes at one byte per 0.2 s.
SLOW_HEAD = b"HTTP/1.1 200 OK\r\n" + b"X-Filler: " + b"a" * 2000 + b"\r\n\r\n[]"


@pytest.mark.parametrize(
    ("name", "data", "tls"),
    [
        ("status line and headers over HTTP", SLOW_HEAD, False),
        # a TLS record header announcing 16 KiB, then its bytes one at a time: the handshake
        ("the TLS handshake", b"\x16\x03\x03\x40\x00" + b"\x02" * 16384, True),
    ],
)
def test_a_trickling_head_cannot_outlive_the_deadline(name: str, data: bytes, tls: bool) -> None:
    with trickling_server(data, 0.2, tls_record=tls) as url:
        started = time.monotonic()
        with pytest.raises(HubError) as info:
            fetch_repos(client(url, deadline=1.5, read_timeout=1.0))
        elapsed = time.monotonic() - started
    assert str(info.value) == (
        f"hub {url}/repos/ did not answer after 1 attempt: the 1.5 s deadline passed"
    )
    assert elapsed < 4  # a bound, not a benchmark: without the deadline this runs for minutes


def test_the_documented_deadline_is_60_seconds() -> None:
    assert transport.DEFAULT_LIMITS.deadline == 60.0
    doc = (ROOT / "docs" / "design" / "state-hub-roster-fields.md").read_text()
    assert "60 s" in doc and "status line" in doc


# --- row 15: a malformed token is a clear error; no secret in any log --------------------------


# (a malformed token, the problem reported)
TOKENS = [
    (TOKEN + "\n", f"holds the character U+000A at position {len(TOKEN)}"),
    (TOKEN + "\r\n", f"holds the character U+000D at position {len(TOKEN)}"),
    (" " + TOKEN, "holds a space at position 0"),
    (TOKEN[:5] + "\x1b" + TOKEN[5:], "holds the character U+001B at position 5"),
    (TOKEN[:5] + "é" + TOKEN[5:], "holds the character U+00E9 at position 5"),
]


@pytest.mark.parametrize(("token", "problem"), TOKENS)
def test_a_malformed_token_is_a_clear_error_without_the_token(
    token: str,
    problem: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where a crash log would go
    monkeypatch.setenv("KAIZEN_HUB_TOKEN", token)
    with serve([Reply(200, b"[]")]) as server:
        code = main(["schedule", "discover", "--hub", server.url])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err == (
        f"kaizen-agentic: error: the hub token {problem}; a bearer token is printable ASCII "
        "without spaces or line breaks\n"
    )
    assert server.seen == []  # refused before anything was sent
    assert list(tmp_path.iterdir()) == []  # no crash, no log


def test_a_crash_log_holds_no_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("KAIZEN_HUB_TOKEN", TOKEN)
    monkeypatch.setenv("SOME_API_KEY", "k3y-" + "Vb8" * 8)

    def crash(self: object, *args: object) -> None:  # a bug that quotes the request's headers
        raise ValueError(
            f"Invalid header value b'Bearer {TOKEN}\\n' (Authorization: Bearer {TOKEN}, "
            f"key {'k3y-' + 'Vb8' * 8})"
        )

    monkeypatch.setattr(transport.Client, "_once", crash)
    hub_url = f"http://reader:{TOKEN}@127.0.0.1:9/?token={TOKEN}"
    monkeypatch.setattr("sys.argv", ["kaizen-agentic", "schedule", "discover", "--hub", hub_url])
    code = main(["schedule", "discover", "--hub", hub_url])
    err = capsys.readouterr().err
    (log,) = tmp_path.iterdir()
    text = log.read_text()
    assert code == 3 and str(log) in err
    assert "ValueError: Invalid header value" in text and "[REDACTED]" in text
    for secret in (TOKEN, "k3y-" + "Vb8" * 8, "Xq7Xq7"):
        assert secret not in text and secret not in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-123", "Authorization: [REDACTED]"),
        ("{'authorization': 'Basic dXNlcjpwYXNz'}", "{'authorization': '[REDACTED]'}"),
        ("b'Bearer tok123456\\n'", "b'Bearer [REDACTED]\\n'"),
        ("Cookie: session=abcdef; other=1", "Cookie: [REDACTED]"),
        ("https://user:pa55w0rd@hub.example.com/x", "https://[REDACTED]@hub.example.com/x"),
        ("/repos/?access_token=abc123&page=2", "/repos/?access_token=[REDACTED]&page=2"),
        ("nothing secret here: 42 repos", "nothing secret here: 42 repos"),
    ],
)
def test_scrub(text: str, expected: str) -> None:
    assert scrub(text) == expected


# --- row 20: a cap on records, checked before a page is parsed ----------------------------------


def test_a_page_of_11_million_records_is_refused_before_parsing() -> None:
    count = (transport.MAX_RESPONSE_BYTES - 16) // 3  # just under the 32 MiB cap
    body = b"[" + b"{}," * (count - 1) + b"{}]"
    assert len(body) < transport.MAX_RESPONSE_BYTES and count > 11_000_000
    values = (count - 1) + count + 1 + 1  # commas, braces, the bracket, the first value
    with serve([Reply(200, body)]) as server:
        tracemalloc.start()
        try:
            with pytest.raises(HubError) as info:
                fetch_repos(client(server.url))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert str(info.value) == (
        f"hub {server.url}/repos/ sent a page of up to {values} JSON values; the limit is "
        "1000000 (a roster of 100000 repositories needs far fewer)"
    )
    assert peak < 4 * len(body)  # the body and its pieces, never a parsed page (~1 GB)


def test_records_are_capped_across_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "MAX_RECORDS", 50)

    def script(seen: Seen) -> Reply:
        n = int(seen.path.rsplit("=", 1)[1]) if "p=" in seen.path else 0
        return page({"items": [RECORD] * 20, "next": f"/repos/?p={n + 1}"})

    with serve(script) as server, pytest.raises(HubError) as info:
        fetch_repos(client(server.url))
    assert str(info.value) == "hub lists more than 50 repositories (after 3 pages); the limit is 50"
    assert len(server.seen) == 3


def test_a_json_roster_file_has_the_same_caps(tmp_path: Path) -> None:
    from kaizen_agentic.errors import KaizenError
    from kaizen_agentic.fleet.roster import load_roster_file

    path = tmp_path / "roster.json"
    path.write_bytes(b"[" + b"{}," * 2_500_000 + b"{}]")
    with pytest.raises(KaizenError) as info:
        load_roster_file(str(path))
    assert str(info.value) == (
        f"roster {path}: more JSON values than 100000 repositories could need; refusing to parse it"
    )
    path.write_text(json.dumps([{"slug": f"acme/r{i}"} for i in range(100_001)]))
    with pytest.raises(KaizenError) as info:
        load_roster_file(str(path))
    assert str(info.value) == f"roster {path} lists 100001 repositories; the limit is 100000"
