"""BMC Track-It! WebApi connector plugin."""

from deskbridge.sdk import Plugin

plugin = Plugin(
    name="trackit",
    title="BMC Track-It! WebApi",
    connector="deskbridge_connectors.trackit.connector:TrackitConnector",
    emulator="deskbridge_connectors.trackit.emulator:TrackitEmulator",
    credentials=("username", "password"),
    docs="connectors/trackit/README.md",
)
