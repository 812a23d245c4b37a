"""The one HTTP client: a deadline, bounded retries, ``Retry-After``, same-origin redirects and
a size cap. The state hub client (``hub``) and the event sink (``events.post``) both use it.

It assumes the other side can misbehave:

* a connect timeout, a per-read timeout, and an overall deadline that covers connecting, the TLS
  handshake, the status line, the headers and the body: every send and receive waits at most
  the smaller of the read timeout and the time left, so a server trickling one byte at a time
  cannot outlive it;
* bounded retries with exponential backoff for connection errors, 408, 429 and 5xx, honouring
  ``Retry-After`` in seconds or as an HTTP date, never past the deadline;
* a byte cap on every response;
* one origin rule: a client sends requests (and its token) only to the scheme, host and port of
  its base URL. A redirect, a pagination link in a body or a ``Link`` header that points
  elsewhere is refused, not followed;
* a bearer token goes into one header and nowhere else: not in errors, logs or reprs; a token
  that could not be a header value (a trailing newline) is refused with a clear error.
"""

import io
import time
from collections.abc import Callable
from typing import Any, Final, NamedTuple
from urllib.parse import urljoin, urlsplit

from kaizen_agentic import __version__
from kaizen_agentic.errors import KaizenError

MAX_RESPONSE_BYTES: Final = 32 * 1024 * 1024
MAX_REDIRECTS: Final = 5


class TransportError(KaizenError):
    """A request could not be completed within the limits. ``attempts`` and ``last`` say how
    many were made and why the last failed, when retries ran out."""

    def __init__(self, message: str, attempts: int = 0, last: str = "") -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last = last


class Limits(NamedTuple):
    """Timeouts, retries and size caps of one client."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    deadline: float = 60.0  # for the whole operation, every page and retry included
    attempts: int = 4
    backoff: float = 0.5
    max_bytes: int = MAX_RESPONSE_BYTES
    max_pages: int = 1000


DEFAULT_LIMITS: Final = Limits()


class Reply(NamedTuple):
    """A response: status, lower-cased headers, body and final URL."""

    status: int
    headers: dict[str, str]
    body: bytes
    url: str


def shown(url: str) -> str:
    """A URL fit for messages: no user information, no query string."""
    if url_problem(url):
        return "(a malformed URL)"
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be requested as it stands (a space or control character, a port that
    is no port, a broken IPv6 address), or None."""
    if _unprintable(url) >= 0:
        return "it holds a space, a control character or a character that is not ASCII"
    try:
        urlsplit(url).port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        return str(exc).split(" as ")[0].rstrip(".").lower()
    return None


class Client:
    """One service, one token, one deadline. ``what`` names the service in messages ("hub",
    "sink"); failures raise ``error``, a ``TransportError``."""

    what: str = "service"
    error: type[TransportError] = TransportError
    follow_redirects: bool = True
    accept: str = "application/json"

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        limits: Limits = DEFAULT_LIMITS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(base_url) if not url_problem(base_url) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.error(
                f"{self.what} URL must be http:// or https:// with a host, got {shown(base_url)!r}"
            )
        if token:
            why = token_problem(token)
            if why:
                raise self.error(
                    f"the {self.what} token {why}; a bearer token is printable ASCII without "
                    "spaces or line breaks"
                )
        self.base_url = base_url.rstrip("/") + "/"
        self.origin = _origin(self.base_url)
        self._token = token
        self.limits = limits
        self._sleep = sleep
        self._started = time.monotonic()

    def __repr__(self) -> str:
        return f"Client({shown(self.base_url)!r}, token={'set' if self._token else 'unset'})"

    def remaining(self) -> float:
        return self.limits.deadline - (time.monotonic() - self._started)

    def check_origin(self, url: str, how: str = "was asked for") -> None:
        """The one origin rule: refuse ``url`` unless it has the base URL's scheme, host and
        port. Every request passes here, so the token never reaches another origin."""
        why = url_problem(url)
        if why:
            raise self.error(
                f"{self.what} {shown(self.base_url)} {how} a malformed URL ({why}); not following"
            )
        if _origin(url) != self.origin:
            raise self.error(
                f"{self.what} {shown(self.base_url)} {how} another origin ({shown(url)}); "
                "not following"
            )

    def request(
        self, method: str, url: str, body: bytes | None = None, content_type: str | None = None
    ) -> Reply:
        """One request with retries; to the client's origin only, redirects included."""
        self.check_origin(url)
        last = "no attempt made"
        for attempt in range(1, self.limits.attempts + 1):
            wait = self.limits.backoff * 2 ** (attempt - 1)
            try:
                reply = self._follow(method, url, body, content_type)
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
        raise self.error(
            f"{self.what} {shown(url)} did not answer after {attempt} attempt"
            f"{'s' if attempt != 1 else ''}: {last}",
            attempt,
            last,
        )

    def _follow(self, method: str, url: str, body: bytes | None, content_type: str | None) -> Reply:
        for _ in range(MAX_REDIRECTS + 1):
            reply = self._once(method, url, body, content_type)
            if reply.status not in (301, 302, 303, 307, 308) or not self.follow_redirects:
                return reply
            try:
                target = urljoin(url, reply.headers.get("location", ""))
            except ValueError:  # a broken IPv6 address
                target = "[malformed"
            why = url_problem(target)
            if why:
                raise self.error(
                    f"{self.what} {shown(url)} redirected to a malformed URL ({why}); not following"
                )
            if _origin(target) != self.origin:
                raise self.error(
                    f"{self.what} {shown(url)} redirected to another origin ({shown(target)}); "
                    "not following"
                )
            url = target
        raise self.error(f"{self.what} {shown(url)}: more than {MAX_REDIRECTS} redirects")

    def _once(self, method: str, url: str, body: bytes | None, content_type: str | None) -> Reply:
        import http.client

        parts = urlsplit(url)
        remaining = self.remaining()
        if remaining <= 0:
            raise self.error(
                f"{self.what} {shown(url)}: the {self.limits.deadline:g} s deadline passed"
            )
        connect = min(self.limits.connect_timeout, remaining)
        host = parts.hostname or ""
        conn: Any = (
            _https(self, host, parts.port, connect)
            if parts.scheme == "https"
            else http.client.HTTPConnection(host, parts.port, timeout=connect)
        )
        headers = {"Accept": self.accept, "User-Agent": f"kaizen-agentic/{__version__}"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if body is not None:
            headers["Content-Type"] = content_type or "application/json"
        try:
            conn.connect()
            conn.sock = _Timed(conn.sock, self)  # from here on, every wait is under the deadline
            conn.request(
                method, parts.path + (f"?{parts.query}" if parts.query else ""), body, headers
            )
            response = conn.getresponse()
            data = self._read(response, url)
            return Reply(
                response.status, {k.lower(): v for k, v in response.getheaders()}, data, url
            )
        finally:
            conn.close()

    def wait(self) -> float:
        """How long the next send or receive may wait: the read timeout or the time left,
        whichever is shorter. Raises ``DeadlinePassed`` when no time is left."""
        remaining = self.remaining()
        if remaining <= 0:
            raise DeadlinePassed(f"the {self.limits.deadline:g} s deadline passed")
        return min(self.limits.read_timeout, remaining)

    def _read(self, response: Any, url: str) -> bytes:
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.limits.max_bytes:
            raise self.error(
                f"{self.what} {shown(url)} sent {int(declared)} bytes; the limit is "
                f"{self.limits.max_bytes}"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = response.read1(65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise self.error(
                    f"{self.what} {shown(url)} sent more than {self.limits.max_bytes} bytes"
                )
            chunks.append(chunk)


class DeadlinePassed(TimeoutError):
    """The client's overall deadline passed during a send or a receive."""


class _Timed:
    """A connected socket seen through a client's deadline: each send and each receive (the
    status line and headers included, which ``http.client`` reads line by line) waits at most
    ``Client.wait()``."""

    def __init__(self, sock: Any, client: Client) -> None:
        self._sock = sock
        self._client = client

    def arm(self) -> None:
        self._sock.settimeout(self._client.wait())

    def timed_out(self) -> TimeoutError:
        """The error for a wait that ran out: the deadline's when it is the one that passed."""
        if self._client.remaining() <= 0:
            return DeadlinePassed(f"the {self._client.limits.deadline:g} s deadline passed")
        return TimeoutError("timed out")

    def sendall(self, data: bytes) -> None:
        self.arm()
        try:
            self._sock.sendall(data)
        except TimeoutError:
            raise self.timed_out() from None

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        # The socket's own reader (it keeps the socket open while a response is read), armed
        # before each receive.
        return io.BufferedReader(_TimedReader(self, self._sock.makefile("rb", buffering=0)))

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _TimedReader(io.RawIOBase):
    def __init__(self, timed: _Timed, raw: Any) -> None:
        self._timed = timed
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._timed.arm()
        try:
            return int(self._raw.readinto(buffer))
        except TimeoutError:
            raise self._timed.timed_out() from None

    def close(self) -> None:
        self._raw.close()
        super().close()


def _https(client: Client, host: str, port: int | None, timeout: float) -> Any:
    """An HTTPS connection whose TLS handshake runs under ``client``'s deadline (a handshake is
    many reads, each of which a trickling server could stretch to the read timeout)."""
    import http.client
    import select
    import ssl

    class Connection(http.client.HTTPSConnection):
        def connect(self) -> None:
            http.client.HTTPConnection.connect(self)
            sock = self._context.wrap_socket(  # type: ignore[attr-defined]
                self.sock, server_hostname=self.host, do_handshake_on_connect=False
            )
            self.sock = sock
            sock.setblocking(False)
            try:
                while True:
                    try:
                        sock.do_handshake()
                        return
                    except ssl.SSLWantReadError:
                        ready = select.select([sock], [], [], client.wait())[0]
                    except ssl.SSLWantWriteError:
                        ready = select.select([], [sock], [], client.wait())[1]
                    if not ready:
                        client.wait()  # raises DeadlinePassed when that is what ran out
                        raise TimeoutError("TLS handshake timed out")
            finally:
                sock.setblocking(True)

    return Connection(host, port, timeout=timeout)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be sent as a bearer token (printable ASCII, no space), or None. The
    message never quotes the token."""
    position = _unprintable(token)
    if position < 0:
        return None
    char = token[position]
    what = "a space" if char == " " else f"the character U+{ord(char):04X}"
    return f"holds {what} at position {position}"


def _unprintable(text: str) -> int:
    """Where ``text`` first holds something other than printable ASCII without a space (what a
    bearer token and a URL on the wire may hold), or -1."""
    return next((i for i, char in enumerate(text) if not "!" <= char <= "~"), -1)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DeadlinePassed):
        return str(exc)
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
