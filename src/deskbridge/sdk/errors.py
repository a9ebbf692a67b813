"""Errors named by what the engine should do with them.

* :class:`FatalError`: stop the run (bad credentials, a 4xx, a payload we cannot read).
* :class:`RetriableError`: try again after a pause (429, 5xx, timeouts, dropped connections).

A bad record in a vendor's answer is a :class:`PayloadError`, not skipped: its batch is never
committed, so it can prove no deletion (see :mod:`deskbridge.sdk.validate`).

Each carries where it happened (vendor, resource, record id, HTTP status) as attributes, and
its message is already redacted: secrets never reach ``str(error)``.
"""

from __future__ import annotations

from typing import TypedDict, Unpack


class _Where(TypedDict, total=False):
    """Where an error happened: :class:`DeskbridgeError`'s keyword arguments."""

    vendor: str | None
    resource: str | None
    record_id: str | None
    status: int | None


class DeskbridgeError(Exception):
    """Base of every error deskbridge raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        vendor: str | None = None,
        resource: str | None = None,
        record_id: str | None = None,
        status: int | None = None,
    ) -> None:
        self.vendor, self.resource, self.record_id, self.status = (
            vendor,
            resource,
            record_id,
            status,
        )
        where = " ".join(
            part
            for part in (
                vendor,
                resource and f"{resource}",
                record_id and f"record {record_id}",
                status and f"HTTP {status}",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(DeskbridgeError):
    """The configuration is wrong; the message names the key."""


class FatalError(DeskbridgeError):
    """The run cannot go on."""


class AuthError(FatalError):
    """The vendor refused the credentials."""


class HostUnreachable(FatalError):
    """The vendor's host refused the connection or does not resolve: a wrong ``base_url``, or the
    vendor is down; ``url`` is the ``scheme://host:port`` tried."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(message)


class PermissionDenied(FatalError):
    """The credentials are valid but lack a permission."""


class PayloadError(FatalError):
    """The vendor answered with something that is not the documented payload."""


class VendorRejected(FatalError):
    """The vendor refused a request on its business rules (validation, missing record)."""


class Unsupported(VendorRejected):
    """The vendor cannot do this to this kind of record (e.g. edit an internal note), ever.

    A push records it once as skipped, with this message, instead of retrying every run.
    """


class NotFound(FatalError):
    """The vendor has no such record."""


class RetriableError(DeskbridgeError):
    """A transient failure; ``retry_after`` is the vendor's hint in seconds, if any."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, **where: Unpack[_Where]
    ) -> None:
        self.retry_after = retry_after
        super().__init__(message, **where)


class StateVersionError(FatalError):
    """Stored cursor state has a shape this version does not know."""


class UnmappedValueError(ValueError):
    """A value has no mapping; the message lists the values that do."""

    def __init__(self, what: str, value: object, known: list[str] | tuple[str, ...]) -> None:
        self.what, self.value, self.known = what, value, tuple(known)
        super().__init__(
            f"no mapping for {what} {value!r}; known values: {', '.join(map(str, known))}"
        )


class WarehouseError(FatalError):
    """The warehouse file cannot be used as asked; the message names the file, the cause and the fix."""


class WarehouseMemoryError(WarehouseError):
    """The warehouse ran out of its DuckDB ``memory_limit``; the message names the size to raise it to."""


class WarehouseLocked(WarehouseError):
    """Another process holds the warehouse for writing; ``pid`` is its process id when DuckDB says it."""

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        self.pid = pid
        super().__init__(message)
