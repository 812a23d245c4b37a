"""`make bench` (and `python bench/redact_corpus.py`): recall and near misses, ours and gitleaks'.

The corpus is our own (tests/redact/secrets_corpus.py), written from providers' documented token
formats: every rule's samples, each filled with random values of the right shape (SEEDS times), in
three placements:

- as written: the sample with its context (`STRIPE_KEY=sk_live_...`, a command, a PEM block);
- alone: each secret by itself in a sentence (`I pasted <secret> by mistake.`);
- `value: <secret>`: each secret after a name that says nothing about it.

A case is found when no secret in it survives redaction (ours) or when a gitleaks finding on its
file holds the secret (gitleaks 8, `gitleaks dir`, its default rules). Near misses (every rule's
wrong lengths, wrong alphabets, placeholders, references) and ordinary text must come out
untouched (ours) or without a finding (gitleaks). Recall is also given for the families whose
token identifies itself (a prefix or a structure of its own): those should be found in every
placement. Rewrites its sections of docs/performance.md and docs/reference/redact.md.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = (ROOT / "docs" / "performance.md", ROOT / "docs" / "reference" / "redact.md")
BEGIN = "<!-- BEGIN REDACTION RECALL (make bench) -->"
END = "<!-- END REDACTION RECALL -->"
SEEDS = 2
PLACEMENTS: dict[str, Callable[[str, list[str]], list[str]]] = {
    "as written": lambda text, secrets: [text],
    "alone in a sentence": lambda text, secrets: [f"I pasted {s} by mistake." for s in secrets],
    "`value: <secret>`": lambda text, secrets: [f"value: {s}" for s in secrets],
}


class Case:
    __slots__ = ("family", "identifies", "placement", "secrets", "text")

    def __init__(
        self, family: str, placement: str, text: str, secrets: list[str], identifies: bool
    ) -> None:
        self.family = family
        self.placement = placement
        self.text = text
        self.secrets = secrets
        self.identifies = identifies  # the token names its provider by itself


def build() -> tuple[list[Case], list[str]]:
    """The positive cases in every placement, and the texts that must stay as they are."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "src"))
    from tests.redact.secrets_corpus import CASES, ORDINARY, fill, near_misses
    from tests.redact.test_redact import NEEDS_CONTEXT

    cases = []
    for family, (samples, _) in sorted(CASES.items()):
        for number, template in enumerate(samples):
            for seed in range(SEEDS):
                text, secrets = fill(template, random.Random(f"bench|{family}|{number}|{seed}"))
                for placement, place in PLACEMENTS.items():
                    for one in place(text, secrets):
                        kept = [s for s in secrets if s in one]
                        identifies = family not in NEEDS_CONTEXT
                        cases.append(Case(family, placement, one, kept, identifies))
    return cases, near_misses() + ORDINARY


def ours(cases: list[Case], keep: list[str]) -> tuple[list[bool], list[bool]]:
    from kaizen_agentic.redact.engine import redact

    found = []
    for case in cases:
        out = redact(case.text).text
        found.append(all(secret not in out for secret in case.secrets))
    return found, [redact(text).text == text for text in keep]


def gitleaks(cases: list[Case], keep: list[str]) -> tuple[list[bool], list[bool], str]:
    """gitleaks on one file per case, in one run."""
    from redact import gitleaks as binary

    exe = binary()
    version = subprocess.run([exe, "version"], capture_output=True, text=True).stdout.strip()
    texts = [case.text for case in cases] + keep
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "corpus")
        folder.mkdir()
        for number, text in enumerate(texts):
            (folder / f"{number}.txt").write_text(text + "\n", encoding="utf-8")
        report = Path(tmp, "report.json")
        subprocess.run(
            [exe, "dir", str(folder), "--no-banner", "--exit-code", "0", "--report-format",
             "json", "--report-path", str(report), "--log-level", "error"],
            check=True,
        )  # fmt: skip
        findings: dict[int, list[dict[str, str]]] = {}
        for finding in json.loads(report.read_text(encoding="utf-8") or "[]"):
            findings.setdefault(int(Path(finding["File"]).stem), []).append(finding)
    found = []
    for number, case in enumerate(cases):
        hits = findings.get(number, [])
        found.append(all(any(_holds(hit, secret) for hit in hits) for secret in case.secrets))
    kept = [not findings.get(len(cases) + n) for n in range(len(keep))]
    return found, kept, version


def _holds(finding: dict[str, str], secret: str) -> bool:
    """A finding holds the secret when it reports all of it, or most of it (a scanner may stop
    at a different character at either end)."""
    reported = finding.get("Secret", "")
    return secret in finding.get("Match", "") or (
        bool(reported) and reported in secret and 2 * len(reported) >= len(secret)
    )


def rate(flags: list[bool]) -> str:
    return f"{sum(flags) / len(flags):.1%}" if flags else "-"


def table(cases: list[Case], keep: list[str], mine: tuple[list[bool], list[bool]],
          theirs: tuple[list[bool], list[bool], str]) -> str:  # fmt: skip
    families = len({case.family for case in cases})
    identifying = len({case.family for case in cases if case.identifies})
    lines = [
        f"Our corpus (tests/redact/secrets_corpus.py): {families} families ({identifying} whose "
        f"token identifies itself), {len(cases)} positive cases over three placements, "
        f"{len(keep)} near misses and ordinary texts; gitleaks {theirs[2]} with its default rules "
        "on the same texts, one file each. The corpus was written with the rules, so our own "
        "figure is a regression check; gitleaks' is the comparison.",
        "",
        "| measure | kaizen-agentic | gitleaks |",
        "| --- | ---: | ---: |",
    ]
    for placement in PLACEMENTS:
        picked = [i for i, case in enumerate(cases) if case.placement == placement]
        lines.append(
            f"| recall, {placement} | {rate([mine[0][i] for i in picked])} "
            f"| {rate([theirs[0][i] for i in picked])} |"
        )
    lines.append(f"| recall over the three placements | {rate(mine[0])} | {rate(theirs[0])} |")
    for placement in PLACEMENTS:
        picked = [i for i, c in enumerate(cases) if c.placement == placement and c.identifies]
        lines.append(
            f"| recall, self-identifying tokens, {placement} "
            f"| {rate([mine[0][i] for i in picked])} | {rate([theirs[0][i] for i in picked])} |"
        )
    lines.append(f"| near misses and ordinary text kept | {rate(mine[1])} | {rate(theirs[1])} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from sections import replace_section

    cases, keep = build()
    text = table(cases, keep, ours(cases, keep), gitleaks(cases, keep))
    for doc in DOCS:
        replace_section(doc, BEGIN, END, text, "Recall on our corpus, against gitleaks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
