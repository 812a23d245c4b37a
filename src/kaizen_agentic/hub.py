"""The state hub's HTTP API: read the roster (``GET /repos/``) and set the v2 flag (``PATCH``).

The hub is another team's service; this client assumes it can misbehave:

* a connect timeout, a per-read timeout, and an overall deadline that a trickling body cannot
  outlive (each read's timeout is the smaller of the read timeout and the time left);
* bounded retries with exponential backoff for connection errors, 408, 429 and 5xx, honouring
  ``Retry-After`` in seconds or as an HTTP date, never past the deadline;
* a byte cap on every response; redirects followed only to the same scheme, host and port;
* pagination by a ``next`` link in the body, an RFC 8288 ``Link: <...>; rel="next"`` header, or
  a ``next_cursor``; a page seen twice is a cycle and stops the read;
* the bearer token goes into one header and nowhere else: not in errors, logs or reprs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Final, NamedTuple
from urllib.parse import urlencode, urljoin, urlsplit

from kaizen_agentic import __version__
from kaizen_agentic.errors import KaizenError

MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024
MAX_PAGES: Final = 1000
MAX_REDIRECTS: Final = 5
LIST_KEYS: Final = ("items", "repos", "results", "data")


class HubError(KaizenError):
    """The hub could not be read (or written) within the limits."""


class Limits(NamedTuple):
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    deadline: float = 60.0  # for the whole operation, every page and retry included
    attempts: int = 4
    backoff: float = 0.5
    max_bytes: int = MAX_RESPONSE_BYTES
    max_pages: int = MAX_PAGES


DEFAULT_LIMITS: Final = Limits()


class Reply(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes
    url: str


def shown(url: str) -> str:
    """A URL fit for messages: no user information, no query string."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


class Client:
    """One hub, one token, one deadline."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        limits: Limits = DEFAULT_LIMITS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HubError(
                f"hub URL must be http:// or https:// with a host, got {shown(base_url)!r}"
            )
        self.base_url = base_url.rstrip("/") + "/"
        self._token = token
        self.limits = limits
        self._sleep = sleep
        self._started = time.monotonic()

    def __repr__(self) -> str:
        return f"Client({shown(self.base_url)!r}, token={'set' if self._token else 'unset'})"

    def remaining(self) -> float:
        return self.limits.deadline - (time.monotonic() - self._started)

    def request(self, method: str, url: str, body: bytes | None = None) -> Reply:
        """One request with retries; redirects only within the same origin."""
        last = "no attempt made"
        for attempt in range(1, self.limits.attempts + 1):
            wait = self.limits.backoff * 2 ** (attempt - 1)
            try:
                reply = self._follow(method, url, body)
            except (OSError, TimeoutError) as exc:
                last = _reason(exc)
            else:
                if reply.status not in (408, 429) and reply.status < 500:
                    return reply
                last = f"HTTP {reply.status}"
                wait = max(wait, retry_after(reply.headers.get("retry-after")))
            if attempt == self.limits.attempts or wait >= self.remaining():
                break
            self._sleep(wait)
        raise HubError(
            f"hub {shown(url)} did not answer after {attempt} attempt"
            f"{'s' if attempt != 1 else ''}: {last}"
        )

    def _follow(self, method: str, url: str, body: bytes | None) -> Reply:
        origin = _origin(url)
        for _ in range(MAX_REDIRECTS + 1):
            reply = self._once(method, url, body)
            if reply.status not in (301, 302, 303, 307, 308):
                return reply
            target = urljoin(url, reply.headers.get("location", ""))
            if _origin(target) != origin:
                raise HubError(
                    f"hub {shown(url)} redirected to another origin ({shown(target)}); "
                    "not following"
                )
            url = target
        raise HubError(f"hub {shown(url)}: more than {MAX_REDIRECTS} redirects")

    def _once(self, method: str, url: str, body: bytes | None) -> Reply:
        import http.client

        parts = urlsplit(url)
        remaining = self.remaining()
        if remaining <= 0:
            raise HubError(f"hub {shown(url)}: the {self.limits.deadline:g} s deadline passed")
        connect = min(self.limits.connect_timeout, remaining)
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        conn = kind(parts.hostname or "", parts.port, timeout=connect)
        headers = {"Accept": "application/json", "User-Agent": f"kaizen-agentic/{__version__}"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            conn.connect()
            conn.request(
                method, parts.path + (f"?{parts.query}" if parts.query else ""), body, headers
            )
            self._arm(conn)
            response = conn.getresponse()
            data = self._read(conn, response, url)
            return Reply(
                response.status, {k.lower(): v for k, v in response.getheaders()}, data, url
            )
        finally:
            conn.close()

    def _arm(self, conn: Any) -> None:
        remaining = self.remaining()
        if remaining <= 0:
            raise TimeoutError("deadline passed")
        if conn.sock is not None:
            conn.sock.settimeout(min(self.limits.read_timeout, remaining))

    def _read(self, conn: Any, response: Any, url: str) -> bytes:
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.limits.max_bytes:
            raise HubError(
                f"hub {shown(url)} sent {int(declared)} bytes; the limit is {self.limits.max_bytes}"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            self._arm(conn)  # a trickling body cannot outlive the deadline
            chunk = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise HubError(f"hub {shown(url)} sent more than {self.limits.max_bytes} bytes")
            chunks.append(chunk)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text)


def retry_after(value: str | None) -> float:
    """Seconds to wait for a ``Retry-After`` header (seconds or HTTP date); 0 when absent."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(moment.timestamp() - time.time(), 0.0)


class Page(NamedTuple):
    records: list[Any]
    next_url: str | None


def parse_page(reply: Reply) -> Page:
    """The records of one page and the next page's URL, whatever envelope the hub used."""
    if reply.status != 200:
        raise HubError(f"hub {shown(reply.url)} answered HTTP {reply.status}")
    try:
        doc = json.loads(reply.body)
    except ValueError as exc:
        raise HubError(f"hub {shown(reply.url)} sent malformed JSON: {exc}") from None
    next_url = _link_next(reply.headers.get("link"), reply.url)
    if isinstance(doc, list):
        return Page(doc, next_url)
    if not isinstance(doc, dict):
        raise HubError(f"hub {shown(reply.url)} sent JSON that is neither a list nor an object")
    key = next((k for k in LIST_KEYS if isinstance(doc.get(k), list)), None)
    if key is None:
        raise HubError(
            f"hub {shown(reply.url)} sent an object without a list of repos "
            f"(looked for {', '.join(LIST_KEYS)})"
        )
    follow = doc.get("next")
    if isinstance(follow, dict):  # {"links": ...}-style: {"next": {"href": ...}}
        follow = follow.get("href")
    if isinstance(follow, str) and follow:
        next_url = urljoin(reply.url, follow)
    cursor = doc.get("next_cursor")
    if next_url is None and isinstance(cursor, str) and cursor:
        next_url = _with_param(reply.url, "cursor", cursor)
    return Page(doc[key], next_url)


def _link_next(header: str | None, base: str) -> str | None:
    if not header:
        return None
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if len(pieces) < 2 or not (pieces[0].startswith("<") and pieces[0].endswith(">")):
            continue
        if any(p.replace(" ", "") in ('rel="next"', "rel=next") for p in pieces[1:]):
            return urljoin(base, pieces[0][1:-1])
    return None


def _with_param(url: str, name: str, value: str) -> str:
    from urllib.parse import parse_qsl, urlunsplit

    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, value))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def repos_url(base_url: str, domain: str | None) -> str:
    """``GET {hub}/repos/?kaizen_schedule_enabled=true[&domain=...]``: the v2 pre-filter."""
    query = {"kaizen_schedule_enabled": "true"}
    if domain:
        query["domain"] = domain
    return urljoin(base_url.rstrip("/") + "/", "repos/") + "?" + urlencode(query)


def fetch_repos(client: Client, domain: str | None = None) -> tuple[list[Any], int]:
    """Every record the hub lists, across pages. Returns (records, pages read)."""
    url: str | None = repos_url(client.base_url, domain)
    seen: set[str] = set()
    records: list[Any] = []
    pages = 0
    while url is not None:
        if url in seen:
            raise HubError(f"hub pagination loops: page {shown(url)} was already read")
        if pages >= client.limits.max_pages:
            raise HubError(f"hub has more than {client.limits.max_pages} pages; stopping")
        seen.add(url)
        page = parse_page(client.request("GET", url))
        records.extend(page.records)
        pages += 1
        url = page.next_url
    return records, pages


def patch_repo(client: Client, slug: str, fields: dict[str, Any]) -> Reply:
    """``PATCH {hub}/repos/{slug}`` (the slug is one percent-encoded path segment)."""
    from urllib.parse import quote

    url = urljoin(client.base_url, "repos/" + quote(slug, safe=""))
    reply = client.request("PATCH", url, json.dumps(fields, sort_keys=True).encode())
    if reply.status not in (200, 202, 204):
        raise HubError(f"hub {shown(url)} refused the update: HTTP {reply.status}")
    return reply
