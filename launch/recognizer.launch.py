"""Start the MaskSem recognizer and, optionally, the camera skeleton source.

ros2 launch masksem_ros recognizer.launch.py
ros2 launch masksem_ros recognizer.launch.py source:=0                 # webcam 0
ros2 launch masksem_ros recognizer.launch.py source:=/path/video.mp4 model_path:=/path/m.onnx
ros2 launch masksem_ros recognizer.launch.py namespace:=left_arm      # a second recognizer

Topics are relative (skeleton, actions, action_label, action_scores), so ``namespace`` places
them under /<namespace>/; the parameter file's keys are node-name wildcards (/**/recognizer), so
they hold under any namespace. The launch ends when the recognizer ends, and when either node
fails (a model that cannot be loaded, a camera that cannot be opened) ``ros2 launch`` exits with
a non-zero status.
"""

import os
import signal

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, Shutdown
from launch.conditions import UnlessCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue

PACKAGE = "masksem_ros"
DEFAULT_MODEL = "gtu_masksem.onnx"


def check_params_file(context, *args, **kwargs):
    """A missing parameters file is an error, not a warning."""
    path = LaunchConfiguration("params_file").perform(context)
    if not os.path.isfile(path):
        raise RuntimeError(f"params_file {path} does not exist")
    return []


# A process ended by the signal the launch itself sent on shutting down (the user's Ctrl-C):
# killed by SIGINT/SIGTERM, or exited with the shell's 128 + signal number
ENDED_BY_SHUTDOWN = {-signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGINT, 128 + signal.SIGTERM}


def end_on_failure(event, context):
    """A node that exits non-zero fails the launch: the error is raised inside launch, which
    logs it, shuts everything down and makes ``ros2 launch`` exit non-zero. A node that the
    launch's own shutdown ended by its signal (a Ctrl-C at the very start of the process, before
    the node handles it) has not failed."""
    if event.returncode != 0 and not (
        context.is_shutdown and event.returncode in ENDED_BY_SHUTDOWN
    ):
        raise RuntimeError(f"{event.process_name} failed with exit code {event.returncode}")
    return []


def end_with_recognizer(event, context):
    """The recognizer ending (e.g. ``ros2 lifecycle set … shutdown``) ends the launch; a
    failure also fails it."""
    end_on_failure(event, context)
    return [Shutdown(reason="the recognizer ended")]


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory(PACKAGE)
    model_path = LaunchConfiguration("model_path")
    source = LaunchConfiguration("source")
    params_file = LaunchConfiguration("params_file")
    namespace = LaunchConfiguration("namespace")
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "model_path",
                default_value=DEFAULT_MODEL,
                description="ONNX model exported by training/export_onnx.py: an absolute path "
                "or a file in the package's models/ folder",
            ),
            DeclareLaunchArgument(
                "source",
                default_value="none",
                description="skeleton source: a camera index, a video or image path, or 'none' "
                "when another node publishes the skeleton topic",
            ),
            DeclareLaunchArgument(
                "params_file",
                default_value=os.path.join(share, "config", "recognizer.yaml"),
                description="node parameters (YAML)",
            ),
            DeclareLaunchArgument(
                "namespace", default_value="", description="namespace of both nodes and topics"
            ),
            OpaqueFunction(function=check_params_file),
            Node(
                package=PACKAGE,
                executable="recognizer",
                name="recognizer",
                namespace=namespace,
                output="screen",
                parameters=[
                    params_file,
                    {"model_path": ParameterValue(model_path, value_type=str)},
                ],
                on_exit=end_with_recognizer,
            ),
            Node(
                package=PACKAGE,
                executable="skeleton_source",
                name="skeleton_source",
                namespace=namespace,
                output="screen",
                parameters=[params_file, {"source": ParameterValue(source, value_type=str)}],
                on_exit=end_on_failure,
                condition=UnlessCondition(PythonExpression(["'", source, "' == 'none'"])),
            ),
        ]
    )
