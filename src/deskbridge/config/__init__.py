"""Configuration: ``config.toml`` overridden by ``DESKBRIDGE_*`` environment variables.

Credentials are never written in the file: each is a reference ``env:NAME`` resolved from the
environment when a connection is built. Any error becomes one :class:`ConfigError` naming the
key, e.g. ``connections.helpdesk.type: unknown connector type 'kayak'; known: kayako, …``.

The model is split by job: ``settings`` (``Settings``, ``WarehouseConfig``), ``links``
(``LinkConfig``), ``checks`` (a link against both connectors, people id forms) and ``loading``
(``load_settings``). Everything is imported from here.
"""

from __future__ import annotations

from deskbridge.config.checks import (
    PERSON_KINDS,
    VOCAB_FIELDS,
    check_link,
    id_forms,
    is_person,
    kind_of,
    link_problems,
    listing,
)
from deskbridge.config.links import CustomField, LinkConfig, Side
from deskbridge.config.loading import load_settings
from deskbridge.config.settings import Settings, WarehouseConfig

__all__ = [
    "PERSON_KINDS",
    "VOCAB_FIELDS",
    "CustomField",
    "LinkConfig",
    "Settings",
    "Side",
    "WarehouseConfig",
    "check_link",
    "id_forms",
    "is_person",
    "kind_of",
    "link_problems",
    "listing",
    "load_settings",
]
