"""The hub client against a real loopback server: envelopes, pages, faults and secrecy."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from kaizen_agentic.fleet import hub
from kaizen_agentic.fleet.hub import Client, HubError, Limits, fetch_repos, patch_repo
from tests.loopback import Reply, Seen, closed_port_url, serve

TOKEN = "hubtoken-" + "s3cr3t" * 4
R1 = {"slug": "acme/a", "host_paths": {"runner": "/src/a"}, "domain": "pay"}
R2 = {
    "slug": "acme/b",
    "host_paths": {"runner": "/src/b"},
    "domain": "pay",
    "kaizen_schedule_enabled": True,
}


def ok(doc: object, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(200, json.dumps(doc).encode(), (("Content-Type", "application/json"), *headers))


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(url: str, **limits: float) -> Client:
    return Client(url, TOKEN, Limits(**limits), sleep=Sleeps())  # type: ignore[arg-type]


def test_asks_with_the_v2_pre_filter_and_the_token() -> None:
    with serve([ok([R1, R2])]) as server:
        records, pages = fetch_repos(client(server.url + "/api"), domain="pay")
    assert (records, pages) == ([R1, R2], 1)
    (request,) = server.seen
    parts = urlsplit(request.path)
    assert parts.path == "/api/repos/"
    assert parse_qs(parts.query) == {"kaizen_schedule_enabled": ["true"], "domain": ["pay"]}
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("key", ["items", "repos", "results", "data"])
def test_envelopes(key: str) -> None:
    with serve([ok({key: [R1], "count": 1})]) as server:
        assert fetch_repos(client(server.url))[0] == [R1]


def test_pagination_by_next_link_link_header_and_cursor() -> None:
    def script(seen: Seen) -> Reply:
        query = parse_qs(urlsplit(seen.path).query)
        if "cursor" in query:
            return ok({"items": [R2], "next": None})
        if "page" not in query:
            return ok({"items": [R1], "next": "/repos/?page=2"})
        if query.get("page") == ["2"]:
            return ok([R2], headers=(("Link", '</repos/?page=3>; rel="next"'),))
        if query.get("page") == ["3"]:
            return ok({"items": [R1], "next_cursor": "c4"})
        return Reply(404)

    with serve(script) as server:
        records, pages = fetch_repos(client(server.url))
    assert pages == 4
    assert [r["slug"] for r in records] == ["acme/a", "acme/b", "acme/a", "acme/b"]
    assert "cursor=c4" in server.seen[-1].path


def test_a_pagination_cycle_stops() -> None:
    with serve([ok({"items": [R1], "next": "/repos/?kaizen_schedule_enabled=true&page=1"})]) as s:
        with pytest.raises(HubError, match="hub pagination loops: page .* was already read"):
            fetch_repos(client(s.url))
    assert len(s.seen) == 2


def test_429_with_retry_after_then_success() -> None:
    with serve([Reply(429, headers=(("Retry-After", "2"),)), ok([R1])]) as server:
        c = client(server.url)
        assert fetch_repos(c)[0] == [R1]
    assert c._sleep == [2.0]  # type: ignore[comparison-overlap]


def test_503_then_success_backs_off() -> None:
    with serve([Reply(503), Reply(503), ok([R1])]) as server:
        c = client(server.url)
        assert fetch_repos(c)[0] == [R1]
    assert c._sleep == [0.5, 1.0]  # type: ignore[comparison-overlap]


def test_5xx_storm_gives_up_after_bounded_attempts() -> None:
    with serve([Reply(503)]) as server, pytest.raises(HubError) as info:
        fetch_repos(client(server.url))
    assert len(server.seen) == 4
    assert str(info.value) == (f"hub {server.url}/repos/ did not answer after 4 attempts: HTTP 503")


def test_a_trickling_body_cannot_outlive_the_deadline() -> None:
    body = json.dumps([R1] * 20).encode()
    with serve([Reply(200, body, trickle=0.05)]) as server:
        started = time.monotonic()
        with pytest.raises(HubError, match="did not answer after"):
            fetch_repos(client(server.url, deadline=1.0, read_timeout=0.5))
        assert time.monotonic() - started < 3


def test_a_slow_server_hits_the_read_timeout() -> None:
    with serve([Reply(200, b"[]", delay=2.0)]) as server:
        with pytest.raises(HubError) as info:
            fetch_repos(client(server.url, read_timeout=0.3, deadline=1.0, attempts=1))
    assert str(info.value).endswith("did not answer after 1 attempt: timed out")


def test_truncated_json() -> None:
    with serve([Reply(200, b'[{"slug": "acme/a", "host_pa')]) as server:
        with pytest.raises(HubError, match="sent malformed JSON: "):
            fetch_repos(client(server.url))


def test_an_oversized_body_is_refused() -> None:
    with serve([ok([R1] * 200)]) as server:
        with pytest.raises(HubError, match="bytes; the limit is 1000"):
            fetch_repos(client(server.url, max_bytes=1000))


def test_a_redirect_to_another_host_is_not_followed() -> None:
    away = Reply(302, headers=(("Location", "http://evil.invalid/repos/"),))
    with serve([away]) as server, pytest.raises(HubError) as info:
        fetch_repos(client(server.url))
    assert str(info.value) == (
        f"hub {server.url}/repos/ redirected to another origin (http://evil.invalid/repos/); "
        "not following"
    )


def test_a_same_origin_redirect_is_followed() -> None:
    def script(seen: Seen) -> Reply:
        if seen.path.startswith("/old/"):
            return Reply(301, headers=(("Location", "/new/repos/"),))
        return ok([R1])

    with serve(script) as server:
        assert fetch_repos(client(server.url + "/old"))[0] == [R1]


def test_the_token_never_appears_in_errors_or_reprs() -> None:
    url = closed_port_url()
    c = Client(url + "?token=" + TOKEN, TOKEN, Limits(attempts=2), sleep=Sleeps())
    with pytest.raises(HubError) as info:
        fetch_repos(c)
    assert TOKEN not in str(info.value) and TOKEN not in repr(c)
    assert "s3cr3t" not in str(info.value)


def test_register_patches_the_flag() -> None:
    with serve([Reply(204)]) as server:
        patch_repo(
            client(server.url),
            "acme/payments",
            {
                "kaizen_schedule_enabled": True,
                "kaizen_schedule_updated_at": "2027-01-01T00:00:00+00:00",
            },
        )
    (request,) = server.seen
    assert (request.method, request.path) == ("PATCH", "/repos/acme%2Fpayments")
    assert json.loads(request.body) == {
        "kaizen_schedule_enabled": True,
        "kaizen_schedule_updated_at": "2027-01-01T00:00:00+00:00",
    }


@pytest.mark.parametrize(("value", "seconds"), [("5", 5.0), (None, 0.0), ("soon", 0.0)])
def test_retry_after(value: str | None, seconds: float) -> None:
    assert hub.retry_after(value) == seconds


def test_bad_hub_urls() -> None:
    with pytest.raises(HubError, match="hub URL must be http:// or https://"):
        Client("ftp://x/")
