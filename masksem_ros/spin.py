"""How both nodes run: start, spin until Ctrl-C or an external shutdown, then clean up once;
a second Ctrl-C during start-up or clean-up never turns into a traceback or a signal exit."""

from __future__ import annotations

import signal
from collections.abc import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def run_until_shutdown(node: Node, start: Callable[[], int] = lambda: 0) -> int:
    """Run ``start()`` (its non-zero result is the exit code and skips spinning), spin, clean
    up; returns the exit code."""
    code = 0
    try:
        code = start()
        if code == 0:
            rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the process is ending: clean up once
        node.destroy_node()
        rclpy.try_shutdown()
    return code
