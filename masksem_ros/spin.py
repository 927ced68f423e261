"""The spin loop both nodes share: run until Ctrl-C or an external shutdown, then clean up;
a second Ctrl-C during the clean-up does not turn into a traceback."""

from __future__ import annotations

import signal

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def spin_until_shutdown(node: Node) -> None:
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # clean up once, undisturbed
        try:
            node.destroy_node()
            rclpy.try_shutdown()
        finally:
            signal.signal(signal.SIGINT, previous)
