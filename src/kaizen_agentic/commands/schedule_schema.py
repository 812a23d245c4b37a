"""``kaizen-agentic schedule schema``: the manifest's JSON Schema."""

from __future__ import annotations

import argparse
import sys

from kaizen_agentic import output
from kaizen_agentic.atomic import write_atomic
from kaizen_agentic.schedule import json_schema


def run(args: argparse.Namespace) -> int:
    text = output.to_json(json_schema())
    if args.output:
        write_atomic(args.output, text.encode())
        sys.stderr.write(f"wrote {args.output}\n")
    else:
        sys.stdout.write(text)
    return 0
