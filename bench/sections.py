"""The benchmarks' one way to put a table into docs/performance.md: between its markers."""

from __future__ import annotations

from pathlib import Path


def replace_section(doc: Path, begin: str, end: str, table: str, heading: str = "") -> None:
    """Write ``table`` between ``begin`` and ``end`` in ``doc`` (appending a section with
    ``heading`` when the markers are not there yet), and say so."""
    print(table)
    text = doc.read_text(encoding="utf-8")
    if begin not in text:
        text += f"\n## {heading}\n\n{begin}\n{end}\n"
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    doc.write_text(f"{head}{begin}\n{table}{end}{tail}", encoding="utf-8")
    print(f"wrote {doc}")
