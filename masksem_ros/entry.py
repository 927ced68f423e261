"""The console scripts of the nodes. Importing a node pulls in rclpy and ONNX Runtime, which
takes a second: a Ctrl-C in that second ends the process quietly with exit code 0."""

from __future__ import annotations

import signal
import sys


def _quiet_exit(*_: object) -> None:
    raise SystemExit(0)


def recognizer() -> int:
    signal.signal(signal.SIGINT, _quiet_exit)
    from masksem_ros.recognizer_node import main

    return main(sys.argv)


def skeleton_source() -> int:
    signal.signal(signal.SIGINT, _quiet_exit)
    from masksem_ros.skeleton_source_node import main

    return main(sys.argv)
