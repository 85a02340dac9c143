"""podbench: the command that wires the rooms (emulator, load, conformance, reports) together.

Rooms never import this package; it starts them as subprocesses or calls their entry points.
"""

from __future__ import annotations

__version__ = "0.1.0"
