"""A real HTTP server on 127.0.0.1 for tests: scripted replies, recorded requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple


class Reply(NamedTuple):
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds before answering
    trickle: float = 0.0  # seconds between body bytes


class Seen(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Server(NamedTuple):
    url: str
    seen: list[Seen]


@contextmanager
def serve(script: Callable[[Seen], Reply] | list[Reply]) -> Iterator[Server]:
    """Serve ``script`` (a list of replies in order, the last repeated, or a function)."""
    seen: list[Seen] = []
    lock = threading.Lock()

    def choose(request: Seen) -> Reply:
        if callable(script):
            return script(request)
        with lock:
            index = min(len(seen) - 1, len(script) - 1)
        return script[index]

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Seen(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            with lock:
                seen.append(request)
            reply = choose(request)
            if reply.delay:
                time.sleep(reply.delay)
            self.send_response(reply.status)
            for key, value in reply.headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            try:
                if reply.trickle:
                    for byte in reply.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(reply.trickle)
                else:
                    self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_PATCH = _handle

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/events"
