"""Omnidesk API v2 connector plugin."""

from deskbridge.sdk import Plugin

plugin = Plugin(
    name="omnidesk",
    title="Omnidesk API v2",
    connector="deskbridge_connectors.omnidesk.connector:OmnideskConnector",
    emulator="deskbridge_connectors.omnidesk.emulator:OmnideskEmulator",
    credentials=("api_key",),
    docs="connectors/omnidesk/README.md",
)
