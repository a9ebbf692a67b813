"""The SDK's public names are pinned: adding or removing one is a deliberate change here."""

from __future__ import annotations

import deskbridge.sdk

PUBLIC = {
    "AuthError",
    "Batch",
    "Capability",
    "CatalogField",
    "ConfigError",
    "ConnectionConfig",
    "Connector",
    "Costed",
    "ConnectorOptions",
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
}


def test_sdk_exports_exactly_the_pinned_names() -> None:
    """``deskbridge.sdk.__all__`` is the pinned set, and every name in it resolves."""
    assert set(deskbridge.sdk.__all__) == PUBLIC
    assert all(getattr(deskbridge.sdk, name, None) is not None for name in PUBLIC)


def test_every_export_comes_from_the_sdk() -> None:
    """Each exported name is defined inside deskbridge.sdk, not re-exported from elsewhere."""
    foreign = {
        name
        for name in PUBLIC
        if not getattr(getattr(deskbridge.sdk, name), "__module__", "deskbridge.sdk").startswith(
            "deskbridge.sdk"
        )
        and not isinstance(getattr(deskbridge.sdk, name), type(deskbridge.sdk))
    }
    assert foreign - {"Row", "Duration"} == set()
