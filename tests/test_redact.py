"""Masking secrets in raw payloads before they are stored."""

from __future__ import annotations

from deskbridge.sdk.redact import MASK, redact_mapping


def test_sensitive_values_are_masked_at_any_depth_and_the_input_is_left_alone() -> None:
    raw = {"id": 1, "user": {"api_key": "k-123", "name": "Ann"}, "posts": [{"Token": "t"}, {}]}
    assert redact_mapping(raw) == {
        "id": 1,
        "user": {"api_key": MASK, "name": "Ann"},
        "posts": [{"Token": MASK}, {}],
    }
    assert raw["user"] == {"api_key": "k-123", "name": "Ann"}
    assert raw["posts"] == [{"Token": "t"}, {}]


def test_a_payload_without_secrets_comes_back_as_it_is() -> None:
    raw = {"id": 1, "posts": [{"contents": "hi", "n": [1, 2]}], 7: "numeric key"}
    assert redact_mapping(raw) is raw
