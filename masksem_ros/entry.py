"""The console scripts of the nodes. Importing a node pulls in rclpy and ONNX Runtime, which
takes a second: a Ctrl-C in that second is noted and ends the process quietly with exit code 0
once the imports are done."""

from __future__ import annotations

import sys

from masksem_ros.interrupt import note_interrupts


def recognizer() -> int:
    note_interrupts()
    from masksem_ros.recognizer_node import main

    return main(sys.argv)


def skeleton_source() -> int:
    note_interrupts()
    from masksem_ros.skeleton_source_node import main

    return main(sys.argv)
