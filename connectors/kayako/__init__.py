"""Kayako Classic (v4 REST API) connector plugin."""

from deskbridge.sdk import Plugin

plugin = Plugin(
    name="kayako",
    title="Kayako Classic v4",
    connector="deskbridge_connectors.kayako.connector:KayakoConnector",
    emulator="deskbridge_connectors.kayako.emulator:KayakoEmulator",
    credentials=("api_key", "secret_key"),
    docs="connectors/kayako/README.md",
)
