"""``kaizen-agentic schedule validate``: every problem in every manifest, located."""

import os
import sys
from typing import NamedTuple

from kaizen_agentic import output
from kaizen_agentic.errors import InvalidFileError, Problem
from kaizen_agentic.manifest.schedule import load_manifest

MAX_SHOWN = 100  # problems listed per file in text; the count covers them all


class FileResult(NamedTuple):
    path: str
    agents: int
    problems: list[Problem]

    @property
    def valid(self) -> bool:
        return not self.problems


def run(*, files: list[str], repo: str | None, output_format: str | None) -> int:
    files = list(files)
    results: list[FileResult] = []
    if not files:
        from kaizen_agentic.manifest.schedule import manifest_path
        from kaizen_agentic.repo import find_root

        root = find_root(repo or ".")
        path = _shown(str(manifest_path(root)))
        if os.path.lexists(path):
            files = [path]
        else:
            results = [FileResult(path, 0, [Problem(path, 0, 0, "", _why_missing(root, path))])]
    results += [check(path) for path in files]
    if output_format == "json":
        _report_json(results)
    elif output_format == "github":
        _report_github(results)
    else:
        _report_text(results)
    return 0 if all(r.valid for r in results) else 1


def _why_missing(root: object, path: str) -> str:
    from kaizen_agentic.manifest.schedule import missing

    return missing(str(root)).removeprefix(f"{os.path.join(str(root), '.kaizen/schedule.yml')} ")


def check(path: str) -> FileResult:
    """Validate one manifest, and that its agents exist in the repository holding it.

    A manifest named ``.kaizen/schedule.yaml`` is checked too, with one more problem: nothing
    else reads that name, so the repository would not take part."""
    from kaizen_agentic.manifest.schedule import RENAME_HINT

    misnamed = []
    if path.replace(os.sep, "/").endswith(".kaizen/schedule.yaml"):
        misnamed = [Problem(path, 0, 0, "", RENAME_HINT)]
    folder = os.path.dirname(os.path.abspath(path))
    # A repository's own manifest is read only when it stays inside that repository.
    root = os.path.dirname(folder) if os.path.basename(folder) == ".kaizen" else None
    try:
        manifest = load_manifest(path, root)
    except InvalidFileError as exc:
        from kaizen_agentic.repo import inside

        if root is not None and not inside(root, path):
            return FileResult(path, 0, misnamed + exc.problems)
        # Report unknown agents in the same run as every other problem, from the raw entries.
        found = sorted({*exc.problems, *_undefined_raw(path)}, key=lambda p: (p.line, p.col))
        return FileResult(path, 0, misnamed + found)
    if misnamed:
        return FileResult(path, 0, misnamed)
    from kaizen_agentic.agents import undefined

    entries = [(e.agent, i, e.line, e.col) for i, e in enumerate(manifest.agents) if e.enabled]
    problems = undefined(entries, _repository_of(path), path)
    if problems:
        return FileResult(path, 0, problems)
    return FileResult(path, len(manifest.agents), [])


def _repository_of(path: str) -> str:
    """The repository a manifest belongs to, whose ``.kaizen/agents/`` define its agents: the
    folder holding its ``.kaizen/``, else the git work tree holding the file. One verdict for
    one manifest, wherever it sits in its repository."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.basename(folder) == ".kaizen":
        return os.path.dirname(folder)
    from kaizen_agentic.repo import find_root

    return str(find_root(folder))


def _undefined_raw(path: str) -> list[Problem]:
    """Enabled entries naming an agent with no definition, read from a manifest that does not
    validate: the names that can be read are checked all the same."""
    import re

    from kaizen_agentic import atomic
    from kaizen_agentic.agents import undefined
    from kaizen_agentic.manifest import yamlsafe
    from kaizen_agentic.names import AGENT_NAME_PATTERN

    try:
        text, _ = yamlsafe.decode(atomic.read_capped(path), path)
    except (OSError, ValueError):
        return []
    root, _ = yamlsafe.load(text, path) if text is not None else (None, [])
    agents = root.get("agents") if isinstance(root, yamlsafe.Mapping) else None
    if not isinstance(agents, yamlsafe.Sequence):
        return []
    entries = []
    for index, item in enumerate(agents.items):
        name = item.get("agent") if isinstance(item, yamlsafe.Mapping) else None
        enabled = item.get("enabled") if isinstance(item, yamlsafe.Mapping) else None
        if (
            isinstance(name, yamlsafe.Scalar)
            and isinstance(name.value, str)
            and re.fullmatch(AGENT_NAME_PATTERN, name.value)
            and not (isinstance(enabled, yamlsafe.Scalar) and enabled.value is False)
        ):
            entries.append((name.value, index, item.line, item.col))
    return undefined(entries, _repository_of(path), path)


def _shown(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _report_text(results: list[FileResult]) -> None:
    colour = output.use_colour()
    write = sys.stdout.write
    problems = 0
    for result in results:
        if result.valid:
            mark = output.paint("valid", "green", colour)
            write(f"{result.path}: {mark} ({_plural(result.agents, 'agent')})\n")
        for problem in result.problems[:MAX_SHOWN]:
            where = output.paint(problem.location, "bold", colour)
            write(f"{where}: {output.paint(problem.detail, 'red', colour)}\n")
        if len(result.problems) > MAX_SHOWN:
            write(f"{result.path}: and {len(result.problems) - MAX_SHOWN} more\n")
        problems += len(result.problems)
    if problems:
        files = sum(1 for r in results if not r.valid)
        write(f"{_plural(problems, 'problem')} in {_plural(files, 'file')}\n")


def _report_github(results: list[FileResult]) -> None:
    """GitHub Actions workflow commands: each problem annotates its file, line and column."""

    def escape(text: str, *, prop: bool = False) -> str:
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if prop else text

    for result in results:
        for p in result.problems:
            where = f"file={escape(p.path, prop=True)}"
            if p.line:
                where += f",line={p.line},col={p.col}"
            sys.stdout.write(f"::error {where}::{escape(p.detail)}\n")
    bad = sum(len(r.problems) for r in results)
    files = sum(1 for r in results if r.problems)
    summary = f"{_plural(bad, 'problem')} in {_plural(files, 'file')}" if bad else "valid"
    sys.stdout.write(summary + "\n")


def _report_json(results: list[FileResult]) -> None:
    doc = {
        "valid": all(r.valid for r in results),
        "files": [
            {
                "path": r.path,
                "valid": r.valid,
                "agents": r.agents,
                "problems": [p.as_dict() for p in r.problems],
            }
            for r in results
        ],
    }
    sys.stdout.write(output.to_json(doc))
