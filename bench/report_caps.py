"""`make bench` (and `python bench/report_caps.py`): what one huge metrics file costs the report.

Issue 21 measured `metrics report` before its caps: 1 GiB of non-record lines took 291 s, and
1.2 GiB of records in the period used 4.9 GB of memory. This bench makes those two files (and a
file of ordinary size for reference) in a real repository and runs the whole command on each:
wall time (median of RUNS) and the peak resident memory of the process (``wait4``). Sizes in
GiB come from ``BENCH_REPORT_GIB`` (default ``1.0,1.2``). Rewrites its section of
docs/performance.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
BEGIN = "<!-- BEGIN REPORT CAPS BENCH (make bench) -->"
END = "<!-- END REPORT CAPS BENCH -->"
RUNS = int(os.environ.get("BENCH_REPORT_RUNS", "3"))
GIB = [float(x) for x in os.environ.get("BENCH_REPORT_GIB", "1.0,1.2").split(",")]
SINCE, UNTIL = "2027-01-01T00:00:00+00:00", "2027-12-31T00:00:00+00:00"
MANIFEST = (
    "version: 1\nrepo: bench/report\nagents:\n"
    "  - agent: coach\n    schedule: {interval: daily, time: '09:00'}\n"
)


def repository(folder: Path) -> Path:
    root = folder / "repo"
    (root / ".kaizen" / "metrics").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".kaizen" / "schedule.yml").write_text(MANIFEST)
    return root


def fill(path: Path, size: int, line: Callable[[int], bytes]) -> None:
    """Write ``size`` bytes of whole lines: a pool of 4,096 lines made by ``line(i)``, repeated
    in 8 MiB writes (the report reads every line the same way, repeated or not)."""
    pool = b"".join(line(i) for i in range(4096))
    block = pool * max(1, (8 * 1024 * 1024) // len(pool))
    written = 0
    with open(path, "wb") as handle:
        while written < size:
            chunk = block[: size - written]
            chunk = chunk[: chunk.rfind(b"\n") + 1] or block[: block.find(b"\n") + 1]
            handle.write(chunk)
            written += len(chunk)


def junk(_: int) -> bytes:
    return b"not a record: a line a broken writer or a hostile commit left\n"


def record(i: int) -> bytes:
    start = datetime(2027, 1, 1, tzinfo=UTC)
    moment = (start + timedelta(seconds=(i * 7919) % (360 * 86400))).isoformat()
    doc = {
        "time": moment,
        "outcome": "success" if i % 9 else "failure",
        "duration_s": 100 + i % 50,
        "tokens": 20000 + i % 1000,
        "measures": {"focus_items": i % 4, "coverage_pct": 60 + (i % 300) / 10},
        "bundle": None,
    }
    return (json.dumps(doc, separators=(",", ":")) + "\n").encode()


def run(root: Path) -> tuple[float, float, str]:
    """One whole `metrics report --json`: seconds, peak RSS in MB, the agent's note."""
    argv = [str(Path(sys.executable).parent / "kaizen-agentic"), "metrics", "report"]
    argv += ["--repo", str(root), "--json", "--since", SINCE, "--until", UNTIL]
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = child.stdout.read() if child.stdout else b""
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    assert os.waitstatus_to_exitcode(status) == 0
    (agent,) = json.loads(out)["agents"]
    return elapsed, usage.ru_maxrss / 1024, agent["note"] or ""


def measure(root: Path, name: str, size: int, line: Callable[[int], bytes]) -> list[str]:
    path = root / ".kaizen" / "metrics" / "coach.jsonl"
    fill(path, size, line)
    actual = path.stat().st_size
    runs = [run(root) for _ in range(RUNS)]
    seconds = statistics.median(r[0] for r in runs)
    peak = max(r[1] for r in runs)
    note = f"note: {runs[0][2]}" if runs[0][2] else "under the cap"
    path.unlink()
    shown = f"{actual / 2**30:.2f} GiB" if actual >= 2**29 else f"{actual / 2**20:.1f} MiB"
    return [name, shown, f"{seconds:.2f} s", f"{peak:.0f} MB", note]


def main() -> None:
    from sections import replace_section

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = repository(Path(tmp))
        rows.append(measure(root, "records, ordinary size", 2 * 2**20, record))
        rows.append(measure(root, "non-record lines", int(GIB[0] * 2**30), junk))
        rows.append(measure(root, "records in the period", int(GIB[-1] * 2**30), record))
    head = f"| file | size | wall time (median of {RUNS}) | peak RSS | |\n"
    table = head + "| --- | ---: | ---: | ---: | --- |\n"
    table += "".join("| " + " | ".join(r) + " |\n" for r in rows)
    table += (
        f"\nWhole `kaizen-agentic metrics report --repo R --json` processes, measured "
        f"{datetime.now(UTC).date()} on this machine (other sessions running: figures are "
        "noisy). Before the caps (issue 21): 291 s for 1 GiB of non-record lines, 4.9 GB for "
        "1.2 GiB of records.\n"
    )
    replace_section(DOC, BEGIN, END, table, "One huge metrics file in the report (issue 21)")


if __name__ == "__main__":
    main()
