"""Resolving the roster options shared by ``discover`` and ``prepare --due``."""

from __future__ import annotations

import argparse
import os

from kaizen_agentic.errors import UsageError
from kaizen_agentic.roster import Discovery


def discover(args: argparse.Namespace, at: object, count: int = 1) -> Discovery:
    from datetime import datetime

    from kaizen_agentic.manifest_cache import default_path
    from kaizen_agentic.roster import discover_kaizen_scheduled_repos

    given = [s for s in (args.hub, args.roster, args.scan) if s]
    if len(given) > 1:
        raise UsageError("give one roster: --hub, --roster or --scan")
    hub = args.hub or (None if given else os.environ.get("KAIZEN_HUB_URL"))
    if not (hub or args.roster or args.scan):
        raise UsageError(
            "no roster: give --hub URL (or set KAIZEN_HUB_URL), --roster FILE or --scan DIR"
        )
    assert isinstance(at, datetime)
    return discover_kaizen_scheduled_repos(
        hub_url=hub,
        hub_token=os.environ.get("KAIZEN_HUB_TOKEN") if hub else None,
        roster_file=args.roster,
        scan_dir=args.scan,
        hostname=args.hostname,
        domain=args.domain,
        agent=args.agent,
        root=args.root,
        at=at,
        count=count,
        jobs=min(os.cpu_count() or 1, 4),
        cache=default_path(),
    )
