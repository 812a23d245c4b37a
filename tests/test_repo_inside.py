"""`repo.inside`, the one containment check: what resolves inside a checkout, links followed.
Its quick path (names below the root, none a link) must agree with the full one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kaizen_agentic.repo import inside

CASES = [
    # (what the checkout holds, the path asked about, inside?)
    ({}, ".kaizen/schedule.yml", True),  # not there yet: resolved lexically
    ({".kaizen/schedule.yml": "file"}, ".kaizen/schedule.yml", True),
    ({".kaizen/schedule.yml": "file"}, "./.kaizen//schedule.yml", True),
    ({".kaizen/schedule.yml": "file"}, ".kaizen/../../outside.yml", False),
    ({".kaizen/schedule.yml": "file"}, ".kaizen/../.kaizen/schedule.yml", True),
    ({".kaizen/schedule.yml": "->/etc/passwd"}, ".kaizen/schedule.yml", False),
    ({".kaizen": "->/tmp"}, ".kaizen/schedule.yml", False),
    ({".kaizen": "->docs", "docs/schedule.yml": "file"}, ".kaizen/schedule.yml", True),
    ({".kaizen/schedule.yml": "->../other.yml", "other.yml": "file"}, ".kaizen/schedule.yml", True),
    ({".kaizen/schedule.yml": "->../../x.yml"}, ".kaizen/schedule.yml", False),
]


@pytest.mark.parametrize(("layout", "asked", "expected"), CASES)
def test_inside(tmp_path: Path, layout: dict[str, str], asked: str, expected: bool) -> None:
    root = tmp_path / "checkout"
    root.mkdir()
    for name, what in layout.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if what.startswith("->"):
            os.symlink(what[2:], path)
        else:
            path.write_text("version: 1\n")
    assert inside(str(root), os.path.join(str(root), asked)) is expected


def test_a_root_reached_through_a_link_holds_its_own_files(tmp_path: Path) -> None:
    (tmp_path / "real" / ".kaizen").mkdir(parents=True)
    (tmp_path / "real" / ".kaizen" / "schedule.yml").write_text("version: 1\n")
    os.symlink(tmp_path / "real", tmp_path / "link")
    assert inside(str(tmp_path / "link"), str(tmp_path / "link" / ".kaizen" / "schedule.yml"))
    assert not inside(str(tmp_path / "link"), str(tmp_path / "elsewhere.yml"))
