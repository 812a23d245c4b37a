from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (host.startswith("127.") or host in {"::1", "localhost"}):
        return _real_connect(self, address)  # type: ignore[arg-type]
    if self.family == socket.AF_UNIX:
        return _real_connect(self, address)  # type: ignore[arg-type]
    raise AssertionError(f"test tried to reach the network: {address!r}")


@pytest.fixture(autouse=True)
def no_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The suite cannot reach anything but loopback, nor write caches in the user's home."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    monkeypatch.setenv("KAIZEN_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    yield


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(cwd), *args],
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.invalid",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_SYSTEM": "/dev/null",
            "HOME": str(cwd),
            "PATH": "/usr/bin:/bin:/usr/local/bin",
        },
    )
    return done.stdout


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """Create a real git work tree, optionally with a manifest and an origin remote."""

    def make(
        name: str = "repo",
        manifest: str | None = None,
        origin: str | None = None,
        agents: tuple[str, ...] = (),
        slug: str | None = None,
    ) -> Path:
        """``slug``: the ``repo:`` added to a manifest that has none (default: ``acme/<name>``), as
        ``schedule init`` writes it; a manifest with its own ``repo:`` line is kept as it is."""
        root = tmp_path / name
        root.mkdir(parents=True)
        git(root, "init", "-q", "-b", "main")
        if origin:
            git(root, "remote", "add", "origin", origin)
        if manifest is not None:
            manifest = with_repo(manifest, slug or f"acme/{name}")
            (root / ".kaizen").mkdir()
            (root / ".kaizen" / "schedule.yml").write_text(manifest, encoding="utf-8")
        for agent in agents:
            add_agent(root, agent)
        return root

    return make


def with_repo(manifest: str, slug: str) -> str:
    """``manifest`` with a ``repo:`` line appended when it is a mapping that has none."""
    if not re.match(r"[A-Za-z_]+:", manifest) or any(
        line.startswith("repo:") for line in manifest.splitlines()
    ):
        return manifest
    return manifest + ("" if manifest.endswith("\n") else "\n") + f"repo: {slug}\n"


AGENT_FILE = (
    "---\nname: {name}\nversion: 1\ndescription: a test agent\nreturns: notes\n---\nDo {name}.\n"
)


def add_agent(root: Path, name: str) -> None:
    """Define a repository agent in ``.kaizen/agents/<name>.md``."""
    folder = root / ".kaizen" / "agents"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.md").write_text(AGENT_FILE.format(name=name))


def commit_all(root: Path, message: str = "change") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def usage_error(err: str, command: str, message: str) -> bool:
    """``err`` is the usage error of ``kaizen-agentic COMMAND``: its usage line, then the message."""
    return err.startswith(f"usage: kaizen-agentic {command} ") and err.endswith(
        f"\nkaizen-agentic {command}: error: {message}\n"
    )
