"""The manifest cache: keyed by content, so it is never stale; unreadable, it is empty."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kaizen_agentic.fleet.discovery import discover_kaizen_scheduled_repos
from kaizen_agentic.manifest import cache as manifest_cache
from kaizen_agentic.manifest.schedule import MEMO, load_manifest

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2027, 3, 29, 12, tzinfo=UTC)
HOST = "runner-1"
GOOD = (
    "version: 1\nrepo: acme/a\ntimezone: Europe/Berlin\nagents:\n"
    "  - agent: coach\n    paused_until: 2027-01-04\n    focus: tests\n"
    "    schedule: {interval: monthly, day: last}\n"
    "  - agent: optimization-review\n    enabled: false\n"
    "    schedule: {interval: cron, cronjob: '*/20 1-3 * * 0'}\n"
)


@pytest.fixture(autouse=True)
def empty_memo() -> Iterator[None]:
    saved = dict(MEMO)
    MEMO.clear()
    yield
    MEMO.clear()
    MEMO.update(saved)


@pytest.mark.parametrize(
    "path",
    [ROOT / "examples" / "schedule.yml", *sorted((ROOT / "examples/fleet").glob("[!dr]*.yml"))],
)
def test_a_cached_manifest_equals_a_fresh_one(path: Path, tmp_path: Path) -> None:
    fresh = load_manifest(path)
    cache = str(tmp_path / "m.json")
    assert manifest_cache.save(cache, [fresh], frozenset())
    MEMO.clear()
    assert manifest_cache.load(cache) == {fresh.digest}
    assert load_manifest(path) == fresh


def roster(make_repo: Callable[..., Path], tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo("a", manifest=GOOD)
    file = tmp_path / "roster.json"
    file.write_text(json.dumps([{"slug": "acme/a", "host_paths": {HOST: str(repo)}}]))
    return repo, file


def test_a_changed_manifest_is_validated_again(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo, file = roster(make_repo, tmp_path)
    cache = str(tmp_path / "m.json")
    first = discover_kaizen_scheduled_repos(
        roster_file=str(file), hostname=HOST, at=AT, cache=cache
    )
    assert [r.state for r in first.repos] == ["enrolled"]
    (repo / ".kaizen" / "schedule.yml").write_text(GOOD.replace("day: last", "day: 31"))
    MEMO.clear()  # a new process
    second = discover_kaizen_scheduled_repos(
        roster_file=str(file), hostname=HOST, at=AT, cache=cache
    )
    assert [(r.state, r.reason) for r in second.repos] == [
        ("invalid", "1 problem in .kaizen/schedule.yml")
    ]


@pytest.mark.parametrize(
    "content", [b"", b"{not json", b'{"format": "other", "entries": {}}', b"[1]"]
)
def test_an_unreadable_cache_is_an_empty_one(
    make_repo: Callable[..., Path], tmp_path: Path, content: bytes
) -> None:
    _, file = roster(make_repo, tmp_path)
    cache = tmp_path / "m.json"
    cache.write_bytes(content)
    found = discover_kaizen_scheduled_repos(
        roster_file=str(file), hostname=HOST, at=AT, cache=str(cache)
    )
    assert [r.state for r in found.repos] == ["enrolled"]
    assert json.loads(cache.read_text())["format"] == manifest_cache.FORMAT  # rewritten whole


def test_an_empty_cache_dir_setting_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIZEN_CACHE_DIR", "")
    assert manifest_cache.default_path() is None
    monkeypatch.setenv("KAIZEN_CACHE_DIR", "/var/cache/kz")
    assert manifest_cache.default_path() == "/var/cache/kz/manifests.json"
