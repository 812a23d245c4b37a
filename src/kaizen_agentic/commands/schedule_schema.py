"""``kaizen-agentic schedule schema``: the manifest's JSON Schema."""

from __future__ import annotations

import sys

from kaizen_agentic import output
from kaizen_agentic.atomic import write_atomic
from kaizen_agentic.manifest.schedule import json_schema


def run(*, out_file: str | None) -> int:
    text = output.to_json(json_schema())
    if out_file:
        write_atomic(out_file, text.encode())
        sys.stderr.write(f"wrote {out_file}\n")
    else:
        sys.stdout.write(text)
    return 0
