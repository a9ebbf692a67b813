"""The connector SDK: everything a connector package imports from deskbridge, and nothing more.

A connector (``connectors/<vendor>/``) imports only from this package. What it may use is
``__all__`` below, pinned by ``tests/test_sdk_surface.py``; the rest of deskbridge (warehouse,
pull engine, push, service, CLI) may change without breaking a connector.
"""

import importlib
from typing import TYPE_CHECKING, Any

from deskbridge.sdk import mappings
from deskbridge.sdk.canonical import canonical_fields
from deskbridge.sdk.catalog import CatalogField, FieldCatalog
from deskbridge.sdk.connection import ConnectionConfig
from deskbridge.sdk.connector import HttpConnector
from deskbridge.sdk.contract import (
    Batch,
    Capability,
    Connector,
    ConnectorOptions,
    CursorKind,
    Plugin,
    ReadContext,
    Row,
    Scope,
    StreamSpec,
    Tally,
    WarehouseView,
    WriteContext,
    WriteOp,
    content_hash,
    row_hash,
)
from deskbridge.sdk.customfields import FieldSpec, FieldValue, field_value
from deskbridge.sdk.durations import Duration, parse_duration
from deskbridge.sdk.errors import (
    AuthError,
    ConfigError,
    DeskbridgeError,
    FatalError,
    NotFound,
    PayloadError,
    PermissionDenied,
    RetriableError,
    UnmappedValueError,
    Unsupported,
    VendorRejected,
)
from deskbridge.sdk.http import Costed, HttpOptions, HttpSession, reject_html
from deskbridge.sdk.idset import IdSet
from deskbridge.sdk.mappings import ValueMap, VendorMapping
from deskbridge.sdk.paging import Listed, OffsetPage, OffsetPager, WalkState, read_ahead
from deskbridge.sdk.redact import excerpt, sanitize_url, scrub
from deskbridge.sdk.validate import (
    InvalidRecord,
    check_batch,
    check_ids,
    check_rows,
    number,
    reading,
    vendor_id,
)

if TYPE_CHECKING:
    from deskbridge.sdk.emulator import Emulator, Knobs

# Imported on first use: an emulator's web stack (starlette) is no part of a sync.
_LAZY = {"Emulator": "deskbridge.sdk.emulator", "Knobs": "deskbridge.sdk.emulator"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AuthError",
    "Batch",
    "Capability",
    "CatalogField",
    "ConfigError",
    "ConnectionConfig",
    "Connector",
    "ConnectorOptions",
    "Costed",
    "CursorKind",
    "DeskbridgeError",
    "Duration",
    "Emulator",
    "FatalError",
    "FieldCatalog",
    "FieldSpec",
    "FieldValue",
    "HttpConnector",
    "HttpOptions",
    "HttpSession",
    "IdSet",
    "InvalidRecord",
    "Knobs",
    "Listed",
    "NotFound",
    "OffsetPage",
    "OffsetPager",
    "PayloadError",
    "PermissionDenied",
    "Plugin",
    "ReadContext",
    "RetriableError",
    "Row",
    "Scope",
    "StreamSpec",
    "Tally",
    "UnmappedValueError",
    "Unsupported",
    "ValueMap",
    "VendorMapping",
    "VendorRejected",
    "WalkState",
    "WarehouseView",
    "WriteContext",
    "WriteOp",
    "canonical_fields",
    "check_batch",
    "check_ids",
    "check_rows",
    "content_hash",
    "excerpt",
    "field_value",
    "mappings",
    "number",
    "parse_duration",
    "read_ahead",
    "reading",
    "reject_html",
    "row_hash",
    "sanitize_url",
    "scrub",
    "vendor_id",
]
