"""``kaizen-agentic schedule register``: set the hub's advisory kaizen_schedule_enabled flag."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

from kaizen_agentic import output
from kaizen_agentic.errors import KaizenError, UsageError


def run(*, hub_url: str | None, repo: str, slug: str | None, disable: bool) -> int:
    from kaizen_agentic.agents import load_repo_manifest
    from kaizen_agentic.fleet import hub
    from kaizen_agentic.manifest.schedule import manifest_path
    from kaizen_agentic.repo import detect_slug, find_root
    from kaizen_agentic.transport import shown

    url = hub_url or os.environ.get("KAIZEN_HUB_URL")
    if not url:
        raise UsageError("no hub: give --hub URL or set KAIZEN_HUB_URL")
    root = find_root(repo)
    if not disable:
        path = manifest_path(root)
        if not path.exists():
            raise KaizenError(
                f"{path} not found; only a repository with a valid schedule can "
                "register (or use --disable)"
            )
        manifest = load_repo_manifest(str(root))  # raises with every problem when invalid
        if slug and slug != manifest.repo:
            raise UsageError(
                f'--slug {slug} names another repository: {path} says "repo: {manifest.repo}"'
            )
        slug = manifest.repo
    slug = slug or detect_slug(root)
    now = datetime.now(UTC)
    fields = {
        "kaizen_schedule_enabled": not disable,
        "kaizen_schedule_updated_at": output.rfc3339(now),
    }
    client = hub.Client(url, os.environ.get("KAIZEN_HUB_TOKEN"))
    hub.patch_repo(client, slug, fields)
    state = "disabled" if disable else "enabled"
    sys.stdout.write(
        f"{slug}: kaizen_schedule_enabled={str(not disable).lower()} "
        f"({state}) on {shown(url)}\n"
        "note: the flag is advisory; the repository's .kaizen/schedule.yml decides\n"
    )
    return 0
