"""The payload digest (``raw_digest``) an upsert compares, in SQL and in Python.

The first 8 bytes of ``md5(raw)`` as a little-endian number, less its lowest bit, so that it
fits a BIGINT: 8 bytes a row and no string heap, where a 32-character hex digest takes a
string each. Stored with every row, so that a sync tells a payload it reads again unchanged
without reading the stored one.
"""

from __future__ import annotations

import hashlib

RAW_DIGEST_SQL = "CAST(md5_number_upper(CAST(raw AS VARCHAR)) >> 1 AS BIGINT)"


def raw_digest(raw: str) -> int:
    """:data:`RAW_DIGEST_SQL` of the payload text ``raw``."""
    return int.from_bytes(hashlib.md5(raw.encode()).digest()[:8], "little") >> 1
