"""Ctrl-C (and the SIGTERM with which ``ros2 launch`` follows it) noted, not raised. A SIGINT
that raises lands wherever the process happens to be, inside an extension module's import or
rclpy's node creation, and comes out as an unrelated ImportError or RCLError; noted instead, it
is acted on at the next safe point of ``run_node``. rclpy's own handlers, installed by
``rclpy.init``, shut the context down and call these."""

from __future__ import annotations

import signal

_requested = False


def _note(*_: object) -> None:
    global _requested
    _requested = True


def note_interrupts() -> None:
    """From now on a SIGINT or SIGTERM only sets ``interrupted()``."""
    signal.signal(signal.SIGINT, _note)
    signal.signal(signal.SIGTERM, _note)


def interrupted() -> bool:
    """Whether a SIGINT or SIGTERM arrived since ``note_interrupts``."""
    return _requested
