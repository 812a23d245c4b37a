"""``kaizen-agentic redact``: the bundle redactor on its own, for files and pipes."""

import codecs
import os
import sys
from typing import Any, NamedTuple

from kaizen_agentic import output
from kaizen_agentic.errors import KaizenError, UsageError

STDIN = "-"
_SNIFF = 8192  # a NUL byte in this many first bytes: UTF-16, UTF-32 or binary
# (byte-order mark, codec); UTF-32's marks first, as UTF-16 LE's is a prefix of UTF-32 LE's
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CONTROLS = frozenset(chr(c) for c in range(32)) - set("\t\n\r\f\v\x1b")


class Decoded(NamedTuple):
    """A file's bytes as the scanner reads them (UTF-8), or why the file is skipped."""

    data: bytes  # UTF-8 (or bytes kept as they are, when ``encoding`` is None)
    encoding: str | None  # the codec to write redacted text back with; None: as read
    bom: bytes = b""
    skipped: str | None = None  # the reason, when the file is not read


def decode(data: bytes) -> Decoded:
    """UTF-16 and UTF-32 (with a byte-order mark, or without one when the bytes are plainly
    that) as UTF-8; other bytes as they are, unless a NUL byte in the first 8 KiB says binary."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            text = _text(data[len(bom) :], codec)
            if text is None:
                name = codec.upper().replace("-LE", " little-endian").replace("-BE", " big-endian")
                return Decoded(data, None, bom, f"not valid {name} after its byte-order mark")
            return Decoded(text.encode("utf-8", "surrogatepass"), codec, bom)
    if b"\0" not in data[:_SNIFF]:
        return Decoded(data, None)
    wide = _sniff_wide(data)
    text = _text(data, wide) if wide else None
    if text is None:
        return Decoded(
            data, None, skipped="binary: a NUL byte in its first 8 KiB, and not UTF-16 or UTF-32"
        )
    return Decoded(text.encode("utf-8", "surrogatepass"), wide)


def _sniff_wide(data: bytes) -> str | None:
    """The codec of UTF-16 or UTF-32 text without a byte-order mark: its NUL bytes all in the
    same places of each unit, and many of them (ASCII text in wide characters)."""
    head = data[:_SNIFF]
    for width, codecs_ in ((4, ("utf-32-le", "utf-32-be")), (2, ("utf-16-le", "utf-16-be"))):
        if len(data) % width:
            continue
        lanes = [head[i::width] for i in range(width)]
        nuls = [lane.count(0) for lane in lanes]
        units = len(lanes[0]) or 1
        if width == 4:
            if nuls[2] == nuls[3] == units and nuls[1] * 4 >= units and nuls[0] == 0:
                return codecs_[0]
            if nuls[0] == nuls[1] == units and nuls[2] * 4 >= units and nuls[3] == 0:
                return codecs_[1]
        elif nuls[0] == 0 and nuls[1] * 4 >= units:
            return codecs_[0]
        elif nuls[1] == 0 and nuls[0] * 4 >= units:
            return codecs_[1]
    return None


def _text(data: bytes, codec: str) -> str | None:
    """``data`` decoded, when it is valid in ``codec`` and holds text (no NUL or other control
    character but tab, line ends, form feed and escape)."""
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return None
    return None if _CONTROLS.intersection(text) else text


def _encode(decoded: Decoded, data: bytes) -> bytes:
    """Redacted UTF-8 ``data`` back in the file's own encoding."""
    if decoded.encoding is None:
        return data
    return decoded.bom + data.decode("utf-8", "surrogatepass").encode(decoded.encoding)


def run(
    *,
    files: list[str],
    check: bool = False,
    in_place: bool = False,
    as_json: bool = False,
    repo: str = ".",
    rules: list[str] | None = None,
    skip_binary: bool = False,
) -> int:
    """Redact, check or rewrite ``files``; 0 clean, 1 secrets found (check, in place) or a file
    skipped as binary (unless ``skip_binary``)."""
    from kaizen_agentic.redact.engine import load_ruleset

    if files.count(STDIN) > 1:
        raise UsageError("- (standard input) can be read only once")
    if in_place and STDIN in files:
        raise UsageError("--in-place rewrites files; it cannot rewrite standard input")
    if not os.path.isdir(repo):
        raise UsageError(f"--repo {repo}: not a folder")
    ruleset = load_ruleset(repo, rules or ())
    reports = [_one(ruleset, name, check or as_json, in_place) for name in files]
    found = sum(len(r["findings"]) for r in reports)
    skipped = [r for r in reports if r.get("skipped")]
    for report in skipped:
        sys.stderr.write(f"kaizen-agentic: skipped {report['path']}: {report['skipped']}\n")
    if skipped and not skip_binary:
        sys.stderr.write(
            f"kaizen-agentic: {len(skipped)} file{'s' if len(skipped) != 1 else ''} skipped "
            "(not text): exit 1 unless --skip-binary\n"
        )
    if as_json:
        sys.stdout.write(output.to_json(_document(reports, ruleset, check, in_place)))
    elif check or in_place:
        _print_findings(reports, in_place)
    return 1 if (found and (check or in_place)) or (skipped and not skip_binary) else 0


def _read(name: str) -> bytes:
    if name == STDIN:
        return sys.stdin.buffer.read()
    if os.path.isdir(name):
        raise KaizenError(f"{name}: is a folder; name the files to read")
    with open(name, "rb") as handle:
        return handle.read()


def _one(ruleset: Any, name: str, locate: bool, in_place: bool) -> dict[str, Any]:
    raw = _read(name)
    path = "<stdin>" if name == STDIN else name
    decoded = decode(raw)
    report: dict[str, Any] = {"path": path, "findings": [], "redactions": {}}
    if decoded.skipped:
        report["skipped"] = decoded.skipped
        return report
    if decoded.encoding:
        report["encoding"] = decoded.encoding
    data = decoded.data
    if locate or in_place:
        findings = ruleset.findings(data)  # bytes: what is not UTF-8 is kept as it is
        report["findings"] = [
            {"rule": f.rule, "line": f.line, "column": f.column} for f in findings
        ]
        for f in findings:
            report["redactions"][f.rule] = report["redactions"].get(f.rule, 0) + 1
        if in_place and findings:
            from kaizen_agentic.atomic import write_atomic
            from kaizen_agentic.redact.engine import splice

            redacted = splice(data, findings)  # the findings already located: no second scan
            write_atomic(name, _encode(decoded, redacted), os.stat(name).st_mode & 0o7777)
        return report
    redacted, report["redactions"] = ruleset.redact_bytes(data)
    sys.stdout.buffer.write(_encode(decoded, redacted))
    sys.stdout.flush()
    return report


def _print_findings(reports: list[dict[str, Any]], in_place: bool) -> None:
    lines = []
    for report in reports:
        for f in report["findings"]:
            verb = "redacted" if in_place else "secret"
            lines.append(f"{report['path']}:{f['line']}:{f['column']}: {verb}: {f['rule']}")
    total = sum(len(r["findings"]) for r in reports)
    names = sum(1 for r in reports if r["findings"])
    read = sum(1 for r in reports if not r.get("skipped"))
    if total:
        what = "redacted in" if in_place else "found in"
        lines.append(
            f"{total} secret{'s' if total != 1 else ''} {what} {names} "
            f"file{'s' if names != 1 else ''}"
        )
    else:
        lines.append(f"no secrets in {read} file{'s' if read != 1 else ''}")
    sys.stdout.write("\n".join(lines) + "\n")


def _document(
    reports: list[dict[str, Any]], ruleset: Any, check: bool, in_place: bool
) -> dict[str, Any]:
    return {
        "mode": "in-place" if in_place else "check" if check else "findings",
        "rules": len(ruleset.rules),
        "rule_files": list(ruleset.sources),
        "files": reports,
        "secrets": sum(len(r["findings"]) for r in reports),
        "skipped": sum(1 for r in reports if r.get("skipped")),
    }
