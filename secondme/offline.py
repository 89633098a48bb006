"""Process-wide switches that keep the libraries SecondMe loads off the network and out of the home dir."""

from __future__ import annotations

import os

# onnxruntime (1.32 here) ships Microsoft's 1DS telemetry on Linux too: `import onnxruntime` writes a device
# id and an event database under ~/.cache/Microsoft/DeveloperTools/.onnxruntime and a session file in the temp
# dir, and a running process looks up mobile.events.data.microsoft.com to send them. The variable, read when
# onnxruntime creates its environment, stops all of it; disable_telemetry_events() comes too late for the files.
SWITCHES = {"ORT_DISABLE_TELEMETRY": "1"}


def apply() -> None:
    """Set the switches in this process and the processes it starts; call before any library is imported."""
    os.environ.update(SWITCHES)
