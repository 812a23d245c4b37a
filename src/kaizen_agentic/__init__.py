"""kaizen-agentic: prepare scheduled kaizen agent runs across a fleet of git repositories.

The package is a typed library first; the ``kaizen-agentic`` command is a thin layer over it.
Importing the package is cheap: heavy modules are imported by the functions that need them.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
