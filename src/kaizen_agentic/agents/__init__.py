"""The agent catalog: built-in kaizen agents shipped with the package, and a repo's own.

An agent is a Markdown prompt with YAML front matter (``name``, ``version``, ``description``,
``reads``, ``returns``). Built-ins live beside this module; a repository adds an agent, or
overrides a built-in, with ``.kaizen/agents/<name>.md``.
"""

import hashlib
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Final, NamedTuple

from kaizen_agentic.errors import InvalidFileError, KaizenError, Problem
from kaizen_agentic.manifest.spec import Field, Int, List, Map, Str, check_document
from kaizen_agentic.names import AGENT_NAME_PATTERN

if TYPE_CHECKING:
    from kaizen_agentic.manifest.schedule import Manifest

BUILTIN_DIR: Final = os.path.dirname(__file__)
REPO_AGENTS_DIR: Final = os.path.join(".kaizen", "agents")
MAX_AGENT_BYTES: Final = 256 * 1024
READS: Final = ("repository", "memory", "metrics", "focus", "instructions")

FRONT_MATTER_SPEC: Final = Map(
    fields=(
        Field(
            "name",
            Str(pattern=AGENT_NAME_PATTERN, hint="an agent name"),
            "Agent name.",
            required=True,
        ),
        Field(
            "version",
            Int(1, 1_000_000),
            "Prompt version; raise it when the prompt changes.",
            required=True,
        ),
        Field(
            "description", Str(max_length=300), "One line on what the agent does.", required=True
        ),
        Field(
            "reads",
            List(Str(enum=READS)),
            "Which bundle inputs the agent uses.",
            default=list(READS),
        ),
        Field("returns", Str(max_length=1000), "What the agent must return.", required=True),
    )
)


class AgentDefinition(NamedTuple):
    """One agent: its front matter, its prompt body and where it came from."""

    name: str
    version: int
    description: str
    reads: tuple[str, ...]
    returns: str
    prompt: str
    source: str  # "builtin" or the path of the repo's override
    digest: str  # "sha256:<hex>" of the definition file's bytes


def check_name(name: str) -> None:
    """Refuse names that are not agent names (and so could not be safe file names)."""
    import re

    if not re.fullmatch(AGENT_NAME_PATTERN, name):
        raise KaizenError(
            f"{name!r} is not an agent name (lower-case a-z, 0-9, '.', '_', '-'; "
            "starting with a letter or digit)"
        )


def parse_definition(data: bytes, path: str, source: str) -> AgentDefinition:
    """Parse an agent file. Raises ``InvalidFileError`` with every located problem."""
    from kaizen_agentic.manifest import yamlsafe

    text = yamlsafe.decode_strict(data, path)
    if not text.startswith("---\n"):
        msg = 'expected YAML front matter: a first line "---", the fields, then "---"'
        raise InvalidFileError(path, [Problem(path, 1, 1, "", msg)])
    end = text.find("\n---\n", 3)
    if end < 0:
        msg = 'front matter is not closed by a line "---"'
        raise InvalidFileError(path, [Problem(path, 1, 1, "", msg)])
    # Keep line numbers true to the file: parse the front matter where it stands.
    head = "\n" + text[4 : end + 1]
    value, _, ctx = check_document(FRONT_MATTER_SPEC, head, path)
    body = text[end + 5 :].strip("\n") + "\n"
    if not body.strip():
        line = text[: end + 5].count("\n") + 1
        ctx.problems.append(Problem(path, line, 1, "", "the prompt body is empty"))
    if ctx.problems:
        raise InvalidFileError(path, ctx.problems)
    return AgentDefinition(
        name=value["name"],
        version=value["version"],
        description=value["description"],
        reads=tuple(value["reads"]),
        returns=value["returns"],
        prompt=body,
        source=source,
        digest="sha256:" + hashlib.sha256(data).hexdigest(),
    )


def load_definition(name: str, repo_root: str | None = None) -> AgentDefinition:
    """The repo's ``.kaizen/agents/<name>.md`` if it exists, else the built-in ``name``."""
    check_name(name)
    filename = f"{name}.md"
    if repo_root is not None:
        from kaizen_agentic.repo import read_inside

        relative = os.path.join(REPO_AGENTS_DIR, filename)
        data = read_inside(repo_root, relative, MAX_AGENT_BYTES)
        if data is not None:
            path = os.path.join(repo_root, relative)
            return _named(parse_definition(data, path, source=path), name, path)
    path = os.path.join(BUILTIN_DIR, filename)
    if not os.path.isfile(path):
        where = (
            f" and {os.path.join(REPO_AGENTS_DIR, filename)} does not exist" if repo_root else ""
        )
        raise KaizenError(f'no agent "{name}": it is not built in{where}')
    with open(path, "rb") as handle:
        return _named(parse_definition(handle.read(), path, source="builtin"), name, path)


def _named(definition: AgentDefinition, name: str, path: str) -> AgentDefinition:
    if definition.name != name:
        msg = f'front matter says name "{definition.name}" but the file is named "{name}.md"'
        raise InvalidFileError(path, [Problem(path, 2, 1, "name", msg)])
    return definition


@lru_cache(maxsize=1)
def _builtins() -> tuple[str, ...]:
    return tuple(sorted(f[:-3] for f in os.listdir(BUILTIN_DIR) if f.endswith(".md")))


def builtin_names() -> list[str]:
    """Names of the agents shipped with the package."""
    return list(_builtins())


def repo_names(repo_root: str) -> list[str]:
    """Names of the agents a repository defines in ``.kaizen/agents/``."""
    from kaizen_agentic.repo import inside

    folder = os.path.join(repo_root, REPO_AGENTS_DIR)
    if os.path.lexists(folder) and not inside(repo_root, folder):
        return []  # a link out of the repository: its names are not the repository's agents
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(f[:-3] for f in names if f.endswith(".md"))


def list_definitions(repo_root: str | None = None) -> list[AgentDefinition]:
    """Every agent available to a repository: built-ins, overridden or extended by the repo."""
    names = set(builtin_names())
    if repo_root is not None:
        names.update(repo_names(repo_root))
    return [load_definition(n, repo_root) for n in sorted(names)]


def undefined(agents: list[tuple[str, int, int, int]], repo_root: str, path: str) -> list[Problem]:
    """Problems for manifest entries ``(name, index, line, col)`` whose agent has no definition:
    neither built in nor in the repository's ``.kaizen/agents/``."""
    builtins = _builtins()
    if all(name in builtins for name, *_ in agents):
        return []  # the common case: no need to list the repository's agents folder
    known = set(builtins) | set(repo_names(repo_root))
    return [
        Problem(path, line, col, f"agents[{index}].agent", unknown_agent(name, sorted(known)))
        for name, index, line, col in agents
        if name not in known
    ]


def unknown_agent(name: str, known: list[str]) -> str:
    """``no agent "coatch": ...; did you mean "coach"?``: where an agent would be defined."""
    from kaizen_agentic.manifest.spec import suggest

    return (
        f'no agent "{name}": it is not built in and '
        f"{os.path.join(REPO_AGENTS_DIR, name)}.md does not exist{suggest(name, known)}"
    )


def load_repo_manifest(root: str) -> "Manifest":
    """Load ``root``'s manifest and check that every enabled agent it names has a definition.

    Raises ``InvalidFileError`` with every problem found."""
    from kaizen_agentic.manifest.schedule import MANIFEST_PATH, load_manifest

    path = os.path.join(root, MANIFEST_PATH)
    manifest = load_manifest(path, root)
    entries = [(e.agent, i, e.line, e.col) for i, e in enumerate(manifest.agents) if e.enabled]
    problems = undefined(entries, root, path)
    if problems:
        raise InvalidFileError(path, problems)
    return manifest
