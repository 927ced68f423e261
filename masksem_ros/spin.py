"""How both nodes run: start, spin until Ctrl-C, an external shutdown or a lifecycle shutdown,
then clean up once. A Ctrl-C at any moment, during start-up and clean-up included, ends the
process with exit code 0 and no traceback (``ros2 launch`` forwards its own SIGINT, so one
Ctrl-C can arrive twice)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

import rclpy
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from masksem_core.errors import MaskSemError
from masksem_ros.interrupt import interrupted, note_interrupts


class ParameterError(MaskSemError):
    """A node parameter (command line or params file) that cannot be used: exit code 2."""


def run_node(
    make_node: Callable[[], Node],
    start: Callable[[Node], int],
    args: list[str] | None = None,
) -> int:
    """``rclpy.init``, ``make_node()``, ``start(node)`` (its non-zero result is the exit code and
    skips spinning), spin, clean up; returns the exit code."""
    note_interrupts()
    code, node = 0, None
    try:
        if interrupted():
            return 0
        rclpy.init(args=args)
        try:
            node = make_node()
        except (
            ParameterError,
            InvalidParameterTypeException,
            InvalidParameterValueException,
        ) as err:
            if interrupted():
                return 0
            print(f"error: {err}", file=sys.stderr)
            return 2
        code = start(node)
        if code == 0 and not interrupted():
            rclpy.spin(node)
    except ExternalShutdownException:
        pass
    except Exception:
        if not interrupted():  # an interrupted start-up fails wherever it was: not an error
            raise
    finally:
        for ending in (signal.SIGINT, signal.SIGTERM):  # the process is ending: clean up once
            signal.signal(ending, signal.SIG_IGN)
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0 if interrupted() else code
