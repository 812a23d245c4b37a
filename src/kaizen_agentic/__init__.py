"""kaizen-agentic: prepare scheduled kaizen agent runs across a fleet of git repositories.

The package is a typed library first; the ``kaizen-agentic`` command is a thin layer over it.
Its public face is the names below, importable from ``kaizen_agentic`` itself; the modules
behind them (the wings ``manifest``, ``fleet``, ``bundle``, ``redact``, ...) may move.
Importing the package is cheap: each name is imported on first use (PEP 562), so
``import kaizen_agentic`` loads no wing.

    from kaizen_agentic import discover_kaizen_scheduled_repos, due_jobs, prepare
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module that defines it, and its name there when it differs: the table
# ``__getattr__`` reads (``__all__`` lists the same names for linters; a test keeps them equal).
# The engine's ``redact`` is ``redact_text`` here: ``kaizen_agentic.redact`` is the wing itself.
_PUBLIC: dict[str, str] = {
    "Problem": "kaizen_agentic.errors",
    "KaizenError": "kaizen_agentic.errors",
    "UsageError": "kaizen_agentic.errors",
    "InvalidFileError": "kaizen_agentic.errors",
    "Manifest": "kaizen_agentic.manifest.schedule",
    "load_manifest": "kaizen_agentic.manifest.schedule",
    "parse_manifest": "kaizen_agentic.manifest.schedule",
    "next_runs": "kaizen_agentic.manifest.cadence",
    "Ruleset": "kaizen_agentic.redact.engine",
    "load_ruleset": "kaizen_agentic.redact.engine",
    "redact_text": "kaizen_agentic.redact.engine:redact",
    "prepare": "kaizen_agentic.bundle.prepare",
    "Prepared": "kaizen_agentic.bundle.prepare",
    "verify_bundle": "kaizen_agentic.bundle.store:verify",
    "complete": "kaizen_agentic.bundle.result",
    "parse_result": "kaizen_agentic.bundle.result",
    "Completed": "kaizen_agentic.bundle.result",
    "discover_kaizen_scheduled_repos": "kaizen_agentic.fleet.discovery",
    "Discovery": "kaizen_agentic.fleet.discovery",
    "due_jobs": "kaizen_agentic.fleet.due",
    "Job": "kaizen_agentic.fleet.due",
    "prepare_due": "kaizen_agentic.fleet.due",
}

__all__ = [
    "Completed",
    "Discovery",
    "InvalidFileError",
    "Job",
    "KaizenError",
    "Manifest",
    "Prepared",
    "Problem",
    "Ruleset",
    "UsageError",
    "__version__",
    "complete",
    "discover_kaizen_scheduled_repos",
    "due_jobs",
    "load_manifest",
    "load_ruleset",
    "next_runs",
    "parse_manifest",
    "parse_result",
    "prepare",
    "prepare_due",
    "redact_text",
    "verify_bundle",
]

if TYPE_CHECKING:
    from kaizen_agentic.bundle.prepare import Prepared, prepare
    from kaizen_agentic.bundle.result import (
        Completed,
        complete,
        parse_result,
    )
    from kaizen_agentic.bundle.store import verify as verify_bundle
    from kaizen_agentic.errors import (
        InvalidFileError,
        KaizenError,
        Problem,
        UsageError,
    )
    from kaizen_agentic.fleet.discovery import (
        Discovery,
        discover_kaizen_scheduled_repos,
    )
    from kaizen_agentic.fleet.due import Job, due_jobs, prepare_due
    from kaizen_agentic.manifest.cadence import next_runs
    from kaizen_agentic.manifest.schedule import (
        Manifest,
        load_manifest,
        parse_manifest,
    )
    from kaizen_agentic.redact.engine import Ruleset, load_ruleset
    from kaizen_agentic.redact.engine import redact as redact_text


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'kaizen_agentic' has no attribute {name!r}")
    import importlib

    module, _, attribute = module.partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
