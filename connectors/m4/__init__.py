"""Mapcom M4 Workforce connector plugin."""

from deskbridge.sdk import Plugin

plugin = Plugin(
    name="m4",
    title="Mapcom M4 Workforce",
    connector="deskbridge_connectors.m4.connector:M4Connector",
    emulator="deskbridge_connectors.m4.emulator:M4Emulator",
    credentials=("username", "password"),
    docs="connectors/m4/README.md",
)
