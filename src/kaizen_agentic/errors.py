"""Expected failures as values and one exception type for the command line to report."""

from typing import NamedTuple


class Problem(NamedTuple):
    """One located problem in a file: ``path:line:col: key.path: message``.

    ``line`` and ``col`` are 1-based; 0 means the problem concerns the whole file.
    """

    path: str
    line: int
    col: int
    key: str
    message: str

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}:{self.col}" if self.line else self.path

    @property
    def detail(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message

    def __str__(self) -> str:
        return f"{self.location}: {self.detail}"

    def as_dict(self) -> dict[str, str | int]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "key": self.key,
            "message": self.message,
        }


class KaizenError(Exception):
    """An expected failure: reported as ``kaizen-agentic: error: ...`` with exit code 1."""


class UsageError(KaizenError):
    """The caller's mistake in the options (malformed, conflicting or missing): exit code 2,
    reported with the command's usage line, before any work starts."""


class InvalidFileError(KaizenError):
    """A file failed validation; ``problems`` holds every problem found, in file order."""

    def __init__(self, path: str, problems: list[Problem]) -> None:
        self.path = path
        self.problems = sorted(problems, key=lambda p: (p.line, p.col))
        count = len(self.problems)
        super().__init__(f"{path}: {count} problem{'s' if count != 1 else ''}")
