"""kaizen-agentic: prepare scheduled kaizen agent runs across a fleet of git repositories.

The package is a typed library first; the ``kaizen-agentic`` command is a thin layer over it.
Importing the package is cheap: heavy modules are imported by the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "discover_kaizen_scheduled_repos"]

if TYPE_CHECKING:
    from kaizen_agentic.discovery import discover_kaizen_scheduled_repos


def __getattr__(name: str) -> Any:
    # The resolver is the orchestrator's entry point; importing it lazily keeps
    # `import kaizen_agentic` (and every CLI start) cheap.
    if name == "discover_kaizen_scheduled_repos":
        from kaizen_agentic.discovery import discover_kaizen_scheduled_repos

        return discover_kaizen_scheduled_repos
    raise AttributeError(f"module 'kaizen_agentic' has no attribute {name!r}")
