"""The command line: parses and dispatches with the table (``kaizen_agentic.cli``), maps
failures to exit codes.

Exit codes: 0 ok, 1 invalid input or failed work, 2 usage error, 3 unexpected internal error
(the traceback goes to a log file, never to the user's terminal), 130 interrupted.
This is the only module that sees ``argv``; command modules are imported only when chosen.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kaizen_agentic import __version__
from kaizen_agentic.cli import PROG, build_parser, run
from kaizen_agentic.errors import KaizenError, UsageError

__all__ = ["PROG", "build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0, 1, 2, 3 or 130). Everything it prints
    goes through ``output.Terminal``: no control character reaches the terminal raw."""
    from kaizen_agentic import output

    with output.terminal():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return run(args._verb, args)
    except UsageError as exc:
        command = getattr(args, "_parser", parser)
        _json_error(args, exc, 2)
        print(command.format_usage().rstrip("\n"), file=sys.stderr)
        print(f"{command.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KaizenError as exc:
        _json_error(args, exc, 1)
        for problem in getattr(exc, "problems", ()):
            print(problem, file=sys.stderr)
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `| head` closed the pipe: not our failure to report
        sys.stderr.close()
        return 1
    except OSError as exc:
        if exc.filename is None:
            return _crash()
        # A path the user named that cannot be read or written: their input, not our bug.
        message = f"{exc.filename}: {exc.strerror or exc}"
        _json_error(args, KaizenError(message), 1)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception:
        return _crash()


def _json_error(args: argparse.Namespace, exc: KaizenError, code: int) -> None:
    """With ``--json`` (or ``--format json``), a failure is data on stdout too."""
    if not (getattr(args, "as_json", False) or getattr(args, "output_format", None) == "json"):
        return
    from kaizen_agentic import output

    problems = [p.as_dict() for p in getattr(exc, "problems", ())]
    doc = {"error": str(exc), "exit_code": code, "problems": problems}
    sys.stdout.write(output.to_json(doc))


def _crash() -> int:
    import tempfile
    import traceback

    fd, log = tempfile.mkstemp(prefix=f"{PROG}-crash-", suffix=".log")
    text = f"{PROG} {__version__}\nargv: {sys.argv!r}\n\n{traceback.format_exc()}"
    with open(fd, "w", encoding="utf-8", errors="backslashreplace") as handle:
        handle.write(scrub(text))
    kind = sys.exc_info()[0]
    name = kind.__name__ if kind else "error"
    print(
        f"{PROG}: internal error ({name}); this is a bug. The traceback is in {log}; "
        "please attach it to a report.",
        file=sys.stderr,
    )
    return 3


# Environment variables whose values are secrets, by name; their values never reach a log.
_SECRET_NAME = r"TOKEN|SECRET|PASSW|KEY|AUTH|CREDENTIAL|COOKIE|SESSION"
_SCRUBBED = "[REDACTED]"


def scrub(text: str) -> str:
    """``text`` (a crash log the user is asked to share) without secrets: the values of
    secret-named environment variables (as they are and as ``repr`` shows them), credentials
    in headers (``Authorization: ...``, ``Bearer ...``, cookies), in URLs (``user:pass@``,
    ``?token=...``), and whatever the secret rules of ``redact`` recognise."""
    import os
    import re

    for name, value in os.environ.items():
        if re.search(_SECRET_NAME, name, re.IGNORECASE) and len(value.strip()) >= 4:
            for form in {value, value.strip(), repr(value)[1:-1], repr(value.encode())[2:-1]}:
                if len(form) >= 4:
                    text = text.replace(form, _SCRUBBED)
    text = re.sub(
        r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token)"
        r"(['\"]?\s*[:=,]\s*['\"]?)[^\n'\"]*",
        rf"\1\2{_SCRUBBED}",
        text,
    )
    text = re.sub(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+", rf"\1\2{_SCRUBBED}", text)
    text = re.sub(r"(?i)(://)[^/@\s'\"]+@", rf"\1{_SCRUBBED}@", text)
    text = re.sub(
        r"(?i)([?&](?:[a-z_]*token|key|secret|password|sig|signature|auth)=)[^&\s'\"]*",
        rf"\1{_SCRUBBED}",
        text,
    )
    try:  # the bundles' secret rules, when they load: a crash must still write its log
        from kaizen_agentic.redact.engine import redact

        text = redact(text).text
    except Exception:  # the log is written either way
        pass
    return text
