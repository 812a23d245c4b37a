"""Checksums that providers publish for their tokens, to confirm a match a rule would otherwise
not dare to make (a token glued to other text, a registry the pattern does not name).

A rule names one with ``checksum = "<name>"``; a match whose secret fails it is not reported.
Only rules written for that purpose carry one: the plain rule for the same token keeps
finding it whether or not its checksum holds (a test fixture is still a secret to keep out of
a bundle).
"""

from __future__ import annotations

import binascii
import zlib
from collections.abc import Callable
from typing import Final

from kaizen_agentic.redact.rules import decode_base64

_BASE62: Final = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def crc32_base62(secret: bytes) -> bool:
    """GitHub's and npm's format: ``<prefix>_`` + 30 random base62 characters + the CRC32 of
    those 30, in base62, six characters, zero-padded."""
    body = secret.rpartition(b"_")[2]
    if len(body) != 36:
        return False
    value = zlib.crc32(body[:30])
    digits = bytearray()
    while value:
        value, rest = divmod(value, 62)
        digits.append(_BASE62[rest])
    return bytes(reversed(digits)).rjust(6, b"0") == body[30:]


def macaroon(secret: bytes) -> bool:
    """A PyPI-style token: ``pypi-`` + a version 2 macaroon in URL-safe base64, whose first
    field (its location or identifier) is well formed."""
    try:
        raw = decode_base64(secret.partition(b"-")[2])
    except (binascii.Error, ValueError):
        return False
    if len(raw) < 4 or raw[0] != 2 or raw[1] not in (1, 2):  # version 2; location or identifier
        return False
    size, at = _varint(raw, 2)
    return size is not None and size > 0 and at + size < len(raw)


def _varint(raw: bytes, at: int) -> tuple[int | None, int]:
    value = shift = 0
    while at < len(raw) and shift < 35:
        byte = raw[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
    return None, at


CHECKSUMS: Final[dict[str, Callable[[bytes], bool]]] = {
    "crc32-base62": crc32_base62,
    "macaroon": macaroon,
}
