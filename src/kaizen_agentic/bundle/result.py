"""Closing the loop: an agent run's result becomes a metrics record and memory entries.

The result is JSON (documented by ``schemas/result.v1.schema.json``, generated from
``RESULT_SPEC``). It may stand alone in a file, or be the last fenced ``kaizen-result`` block
of the agent's Markdown answer, as the built-in prompts ask. Completing a bundle twice changes
nothing the second time: the metrics record and the memory entries carry the bundle's key.
"""

import re
from datetime import datetime
from typing import Any, Final, NamedTuple

from kaizen_agentic.bundle import events, memory, metrics, store
from kaizen_agentic.errors import InvalidFileError, KaizenError, Problem
from kaizen_agentic.manifest.spec import (
    Bool,
    Context,
    Field,
    Int,
    List,
    Map,
    Spec,
    Str,
    check_document,
)

MAX_RESULT_BYTES: Final = 1024 * 1024
_FENCE = re.compile(r"^```kaizen-result[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


class Number(Spec):
    """Any number that is finite as a float (``Int`` accepts only integers): not NaN, not an
    infinity, not an integer too long for a float."""

    title = "number"

    def __init__(self, minimum: float | None = None) -> None:
        self.minimum = minimum

    def check(self, node: Any, key: str, ctx: Context) -> Any:
        from kaizen_agentic.manifest.yamlsafe import Scalar, describe

        value = node.value if isinstance(node, Scalar) else node
        checked = metrics.number(value)
        if checked is None:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            ctx.add(node, key, f"expected a {'finite ' * numeric}number, got {describe(value)}")
            return None
        if self.minimum is not None and checked < self.minimum:
            ctx.add(node, key, f"expected a number >= {self.minimum}, got {checked:g}")
            return None
        return value

    def json_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "number"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        return out


class Measures(Spec):
    """A mapping of measure name to number."""

    title = "mapping of name to number"

    def check(self, node: Any, key: str, ctx: Context) -> Any:
        from kaizen_agentic.manifest.yamlsafe import Mapping, describe

        if not isinstance(node, Mapping):
            ctx.add(node, key, f"expected a mapping of names to numbers, got {describe(node)}")
            return None
        out = {}
        for k, v in node.items:
            name = str(k.value)
            if not re.fullmatch(r"[a-z0-9_.-]{1,64}", name):
                ctx.add(k, key, f'measure name "{name}" must be 1-64 characters of a-z, 0-9, _ . -')
                continue
            out[name] = Number().check(v, f"{key}.{name}", ctx)
        return out

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "propertyNames": {"pattern": "^[a-z0-9_.-]{1,64}$"},
            "additionalProperties": {"type": "number"},
        }


LEARNING_SPEC: Final = Map(
    fields=(
        Field("text", Str(max_length=memory.MAX_ENTRY_CHARS), "What to remember.", required=True),
        Field("pinned", Bool(), "A standing decision, dropped last from bundles.", default=False),
    )
)

RESULT_SPEC: Final = Map(
    fields=(
        Field("outcome", Str(enum=metrics.OUTCOMES), "How the run went.", required=True),
        Field("summary", Str(max_length=2000), "One or two sentences on the result."),
        Field("duration_s", Number(minimum=0), "Wall time of the run, in seconds."),
        Field("tokens", Int(0, metrics.MAX_TOKENS), "Tokens the run used."),
        Field("measures", Measures(), "Free-form numeric measures.", default={}),
        Field(
            "learnings",
            List(LEARNING_SPEC, max_items=50),
            "Entries to add to the agent's memory.",
            default=[],
        ),
    )
)


class Completed(NamedTuple):
    """What recording a result did: its status, metrics file, memory file and event."""

    status: str  # "completed" or "already-completed"
    metrics_path: str
    memory_path: str | None
    event: dict[str, Any] | None


def json_schema() -> dict[str, Any]:
    """The result's JSON Schema, generated from ``RESULT_SPEC``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:kaizen-agentic:schema:result:v1",
        "title": "kaizen-agentic agent run result, version 1",
        **RESULT_SPEC.json_schema(),
    }


def _check_json(text: str, offset: int, path: str) -> None:
    """A result that looks like JSON gets JSON's own syntax errors (the checks that follow read
    it as YAML, which JSON is, and would name the mistake in YAML's words)."""
    import json

    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"JSON syntax error: {exc.msg}"
        problem = Problem(path, exc.lineno + offset, exc.colno, "", msg)
        raise InvalidFileError(path, [problem]) from None
    except RecursionError:
        pass  # too deep for json; the YAML reader reports its depth limit


def parse_result(data: bytes, path: str) -> dict[str, Any]:
    """Validate a result (JSON, or Markdown ending in a ``kaizen-result`` block)."""
    from kaizen_agentic.manifest import yamlsafe

    text = yamlsafe.decode_strict(data, path)
    offset = 0
    blocks = list(_FENCE.finditer(text))
    if blocks:
        offset = text[: blocks[-1].start(1)].count("\n")
        text = blocks[-1].group(1)
    elif not text.lstrip().startswith("{"):
        msg = "expected a JSON object, or Markdown with a ```kaizen-result block"
        raise InvalidFileError(path, [Problem(path, 1, 1, "", msg)])
    if text.lstrip().startswith("{"):
        _check_json(text, offset, path)
    value, _, ctx = check_document(RESULT_SPEC, "\n" * offset + text, path)
    if ctx.problems:
        raise InvalidFileError(path, ctx.problems)
    assert isinstance(value, dict)
    return value


def complete(bundle_dir: str, result: dict[str, Any], *, at: datetime, host: str) -> Completed:
    """Record a run's result against its bundle; a second call for the same bundle is a no-op.

    The bundle must be intact and bound to its checkout (``store.binding``); only that
    checkout's ``.kaizen/memory`` and ``.kaizen/metrics`` are written. Whether the bundle was
    already recorded is decided under the metrics folder's lock, so concurrent calls record it
    once."""
    manifest = store.read_manifest(bundle_dir)
    problems = store.verify(bundle_dir)
    if problems:
        raise KaizenError(f"{bundle_dir} is not an intact bundle: {'; '.join(problems)}")
    bound = store.binding(manifest)
    root, agent, key = bound.root, bound.agent, bound.key
    metrics_file = metrics.metrics_path(root, agent)
    dropped = manifest.get("dropped")
    left_out = dropped.get("memory") if isinstance(dropped, dict) else None
    with metrics.ledger(root, agent) as log:
        if log.has(key):
            return Completed("already-completed", metrics_file, None, None)
        learnings = [
            memory.new_entry(
                item["text"], when=at, pinned=item["pinned"], bundle=key, commit=bound.head[:12]
            )
            for item in result["learnings"]
        ]
        memory_file = memory.add(root, agent, learnings) if learnings else None
        record = metrics.make_record(
            time=at,
            outcome=result["outcome"],
            duration_s=result["duration_s"],
            tokens=result["tokens"],
            measures=result["measures"],
            bundle=key,
            memory_dropped=len(left_out) if isinstance(left_out, list) else 0,
        )
        log.append(record)  # last: its presence marks the bundle completed
    data = {
        "agent": agent,
        "idempotency_key": key,
        "repo": {"slug": bound.slug, "head": bound.head},
        "slot": manifest["slot"],
        "bundle_digest": manifest["digest"],
        "outcome": result["outcome"],
        "summary": result["summary"],
        "measures": result["measures"],
        "learnings_added": len(learnings),
    }
    event = events.cloudevent(
        kind=events.COMPLETED,
        event_id=f"{key}.completed",
        host=host,
        time_=at.isoformat(timespec="seconds"),
        subject=bound.slug,
        schema=events.COMPLETED_SCHEMA,
        data=data,
    )
    return Completed("completed", metrics_file, memory_file, event)
