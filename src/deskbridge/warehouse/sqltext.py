"""Text spliced into SQL where DuckDB takes no parameter (ATTACH, COPY, COMMENT, identifiers)."""

from __future__ import annotations


def literal(text: str) -> str:
    """``text`` as a SQL string literal: ``it's`` -> ``'it''s'``."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier: ``a"b`` -> ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'
