"""Start the MaskSem recognizer and, optionally, the camera skeleton source.

ros2 launch masksem_ros recognizer.launch.py
ros2 launch masksem_ros recognizer.launch.py source:=0                 # webcam 0
ros2 launch masksem_ros recognizer.launch.py source:=/path/video.mp4 model_path:=/path/m.onnx
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import UnlessCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node

PACKAGE = "masksem_ros"
DEFAULT_MODEL = "gtu_masksem.onnx"


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory(PACKAGE)
    model_path = LaunchConfiguration("model_path")
    source = LaunchConfiguration("source")
    params_file = LaunchConfiguration("params_file")
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "model_path",
                default_value=os.path.join(share, "models", DEFAULT_MODEL),
                description="ONNX model exported by training/export_onnx.py",
            ),
            DeclareLaunchArgument(
                "source",
                default_value="none",
                description="skeleton source: a camera index, a video or image path, or 'none' "
                "when another node publishes /skeleton",
            ),
            DeclareLaunchArgument(
                "params_file",
                default_value=os.path.join(share, "config", "recognizer.yaml"),
                description="node parameters (YAML)",
            ),
            Node(
                package=PACKAGE,
                executable="recognizer",
                name="recognizer",
                output="screen",
                parameters=[params_file, {"model_path": model_path}],
            ),
            Node(
                package=PACKAGE,
                executable="skeleton_source",
                name="skeleton_source",
                output="screen",
                parameters=[params_file, {"source": source}],
                condition=UnlessCondition(PythonExpression(["'", source, "' == 'none'"])),
            ),
        ]
    )
