"""What a name may be: the one place that decides the shape of an agent name and a repository
slug, for every reader (the manifest, agent files, the command line) and every writer that
embeds one in a path, a file name or another language."""

from __future__ import annotations

from typing import Final

#: An agent's name: a file name under ``.kaizen/agents/`` and a path part of every bundle.
AGENT_NAME_PATTERN: Final = r"[a-z0-9][a-z0-9._-]{0,63}"

#: A repository's slug (``owner/name``), its identity in the roster, bundles and events.
SLUG_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}"
