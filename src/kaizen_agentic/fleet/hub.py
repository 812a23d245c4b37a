"""The state hub's HTTP API: read the roster (``GET /repos/``) and set the v2 flag (``PATCH``).

The hub is another team's service; this client assumes it can misbehave:

* a connect timeout, a per-read timeout, and an overall deadline that a trickling body cannot
  outlive (each read's timeout is the smaller of the read timeout and the time left);
* bounded retries with exponential backoff for connection errors, 408, 429 and 5xx, honouring
  ``Retry-After`` in seconds or as an HTTP date, never past the deadline;
* a byte cap on every response, a cap on the JSON values of a page (checked before parsing it)
  and on the records of the whole roster, so a page of millions of ``{}`` cannot exhaust memory;
* one origin for every request: redirects, ``next`` links and ``Link`` headers that point at
  another scheme, host or port are refused (the token never leaves the hub's origin);
* pagination by a ``next`` link in the body, an RFC 8288 ``Link: <...>; rel="next"`` header, or
  a ``next_cursor``; a page seen twice is a cycle and stops the read;
* the bearer token goes into one header and nowhere else: not in errors, logs or reprs.
"""

import json
from typing import Any, Final, NamedTuple
from urllib.parse import urlencode, urljoin, urlsplit

from kaizen_agentic import output, transport
from kaizen_agentic.transport import (
    DEFAULT_LIMITS as DEFAULT_LIMITS,
)
from kaizen_agentic.transport import (
    Limits as Limits,
)
from kaizen_agentic.transport import (
    Reply as Reply,
)
from kaizen_agentic.transport import (
    TransportError,
    shown,
)
from kaizen_agentic.transport import (
    retry_after as retry_after,
)

MAX_PAGES: Final = 1000
#: The most repositories a roster may list (a hub's or a file's): far above any fleet, far below
#: what would exhaust memory.
MAX_RECORDS: Final = 100_000
#: The most JSON values one page may hold, counted before parsing (an upper bound: commas,
#: brackets and braces); a page of 1,000 records of 30 fields holds some 30,000.
MAX_PAGE_VALUES: Final = 1_000_000
LIST_KEYS: Final = ("items", "repos", "results", "data")


class HubError(TransportError):
    """The hub could not be read (or written) within the limits."""


class Client(transport.Client):
    """One hub, one token, one deadline."""

    what = "hub"
    error = HubError


class Page(NamedTuple):
    """One page of a roster: its records and the URL of the next page, if any."""

    records: list[Any]
    next_url: str | None


def parse_page(reply: Reply) -> Page:
    """The records of one page and the next page's URL, whatever envelope the hub used."""
    if reply.status != 200:
        raise HubError(f"hub {shown(reply.url)} answered HTTP {reply.status}")
    values = json_values(reply.body)
    if values > MAX_PAGE_VALUES:
        raise HubError(
            f"hub {shown(reply.url)} sent a page of up to {values} JSON values; the limit is "
            f"{MAX_PAGE_VALUES} (a roster of {MAX_RECORDS} repositories needs far fewer)"
        )
    try:
        doc = json.loads(reply.body)
    except ValueError as exc:
        raise HubError(f"hub {shown(reply.url)} sent malformed JSON: {exc}") from None
    except RecursionError:
        raise HubError(f"hub {shown(reply.url)} sent JSON nested too deeply") from None
    try:
        return _page(reply, doc)
    except ValueError:  # urljoin: a link with a broken IPv6 address
        raise HubError(f"hub {shown(reply.url)} sent a malformed next link") from None


def _page(reply: Reply, doc: Any) -> Page:
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


def json_values(body: bytes) -> int:
    """An upper bound on the values a JSON document holds, without parsing it: every value but
    the first follows a comma or opens a list or an object (a C-speed byte count)."""
    return body.count(b",") + body.count(b"[") + body.count(b"{") + 1


def _link_next(header: str | None, base: str) -> str | None:
    if not header:
        return None
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if len(pieces) < 2 or not (pieces[0].startswith("<") and pieces[0].endswith(">")):
            continue
        for param in pieces[1:]:  # rel="next", REL=next, rel="next last" (RFC 8288)
            name, _, value = param.partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
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
        if len(records) > MAX_RECORDS:
            raise HubError(
                f"hub lists more than {MAX_RECORDS} repositories (after {pages + 1} "
                f"page{'s' if pages else ''}); the limit is {MAX_RECORDS}"
            )
        pages += 1
        url = page.next_url
        if url is not None:
            client.check_origin(url, "linked to")
    return records, pages


def patch_repo(client: Client, slug: str, fields: dict[str, Any]) -> Reply:
    """``PATCH {hub}/repos/{slug}`` (the slug is one percent-encoded path segment)."""
    from urllib.parse import quote

    url = urljoin(client.base_url, "repos/" + quote(slug, safe=""))
    reply = client.request("PATCH", url, output.compact_json(fields).encode())
    if reply.status not in (200, 202, 204):
        raise HubError(f"hub {shown(url)} refused the update: HTTP {reply.status}")
    return reply
