"""`make bench`: measure start-up and throughput, and rewrite the table in docs/performance.md.

Whole-process timings: each command runs WARMUP times, then RUNS times; the median and the 90th
percentile of wall time are reported, with the ratio to `python -c pass` and to
`pre-commit validate-config` measured in the same run on the same machine.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- BEGIN BENCH RESULTS (make bench) -->"
END = "<!-- END BENCH RESULTS -->"
RUNS = int(os.environ.get("BENCH_RUNS", "40"))
WARMUP = 5
BIN = Path(sys.executable).parent

PRE_COMMIT_CONFIG = """\
repos:
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v5.0.0
    hooks:
      - id: trailing-whitespace
      - id: end-of-file-fixer
"""


# Installed packages get .pyc files from pip; measure that, not a session that disables them.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
HYPERFINE = shutil.which("hyperfine")
TOOL = "hyperfine" if HYPERFINE else "a Python harness (hyperfine not found)"


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    if HYPERFINE:
        return _hyperfine(argv, cwd)
    for _ in range(WARMUP):
        subprocess.run(argv, cwd=cwd, capture_output=True, check=False, env=ENV)
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, capture_output=True, check=False, env=ENV)
        samples.append((time.perf_counter() - start) * 1000)
        if done.returncode not in (0, 1):
            raise SystemExit(f"bench: {argv} exited {done.returncode}: {done.stderr[-500:]!r}")
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def _hyperfine(argv: list[str], cwd: Path) -> tuple[float, float]:
    import json
    import shlex

    with tempfile.NamedTemporaryFile(suffix=".json") as report:
        subprocess.run(
            [
                HYPERFINE or "hyperfine",
                "-N",
                "--warmup",
                str(WARMUP),
                "--runs",
                str(RUNS),
                "-i",
                "--style",
                "none",
                "--export-json",
                report.name,
                shlex.join(argv),
            ],
            cwd=cwd,
            check=True,
            capture_output=True,
            env=ENV,
        )
        times = sorted(json.loads(Path(report.name).read_text())["results"][0]["times"])
    return statistics.median(times) * 1000, times[int(len(times) * 0.9) - 1] * 1000


def ensure_tools() -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)
    if not (BIN / "pre-commit").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "pre-commit",
            ],
            check=True,
        )


def cold_start(work: Path) -> list[tuple[str, float, float]]:
    repo = work / "repo"
    (repo / ".kaizen").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    shutil.copy(ROOT / "examples" / "schedule.yml", repo / ".kaizen" / "schedule.yml")
    (work / ".pre-commit-config.yaml").write_text(PRE_COMMIT_CONFIG)
    ka = str(BIN / "kaizen-agentic")
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("kaizen-agentic --version", [ka, "--version"]),
        (
            "kaizen-agentic schedule validate (example manifest)",
            [ka, "schedule", "validate", "repo/.kaizen/schedule.yml"],
        ),
        (
            "kaizen-agentic schedule list (example manifest)",
            [ka, "schedule", "list", "--repo", "repo", "--at", "2027-03-26T12:00:00Z"],
        ),
        (
            "pre-commit validate-config (2 hooks)",
            [str(BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml"],
        ),
    ]
    return [(name, *timed(argv, work)) for name, argv in cases]


def throughput() -> list[tuple[str, str]]:
    sys.path.insert(0, str(ROOT / "src"))
    from kaizen_agentic.cadence import compile_cadence, next_runs
    from kaizen_agentic.schedule import parse_manifest

    data = (ROOT / "examples" / "schedule.yml").read_bytes()
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        parse_manifest(data, "schedule.yml")
    per_s = n / (time.perf_counter() - start)
    rows = [("validate example manifest in-process (4 agents)", f"{per_s:,.0f} manifests/s")]
    now = datetime(2027, 3, 1, tzinfo=UTC)
    kinds = [
        ("daily", {"at": "09:00"}),
        ("weekdays", {"at": "09:00"}),
        ("weekly", {"at": "09:00", "day": "monday"}),
        ("monthly", {"at": "09:00", "day": "last"}),
        ("cron", {"cronjob": "*/15 9-17 * * mon-fri"}),
    ]
    for interval, kwargs in kinds:
        cadence = compile_cadence(interval, timezone="Europe/Berlin", **kwargs)  # type: ignore[arg-type]
        m = 2000
        start = time.perf_counter()
        for _ in range(m):
            next_runs(cadence, now, 1)
        rate = m / (time.perf_counter() - start)
        rows.append((f"next run, `{interval}` in Europe/Berlin", f"{rate:,.0f} computations/s"))
    return rows


def render(cold: list[tuple[str, float, float]], rates: list[tuple[str, str]]) -> str:
    base = cold[0][1]
    pre_commit = next(m for name, m, _ in cold if name.startswith("pre-commit"))
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"{RUNS} runs after {WARMUP} warm-ups per command, timed with {TOOL}.",
        "",
        "| command | median ms | p90 ms | x `python -c pass` | x pre-commit |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, median, p90 in cold:
        lines.append(
            f"| {name} | {median:.1f} | {p90:.1f} | {median / base:.2f} | "
            f"{median / pre_commit:.2f} |"
        )
    lines += ["", "| in-process work | rate |", "| --- | ---: |"]
    lines += [f"| {name} | {rate} |" for name, rate in rates]
    return "\n".join(lines) + "\n"


def main() -> int:
    ensure_tools()
    with tempfile.TemporaryDirectory() as tmp:
        cold = cold_start(Path(tmp))
    table = render(cold, throughput())
    print(table)
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{BEGIN}\n{table}{END}{tail}", encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
