#!/usr/bin/env bash
# Build the ROS 2 packages masksem_interfaces and masksem_ros with colcon against the ROS 2
# wheels of the active Python environment: no root, no ROS install, nothing written outside
# that environment and the workspace.
#
#   python3 -m venv .venv && source .venv/bin/activate
#   pip install torch==2.13.0 && pip install -e ".[all]"
#   tools/colcon_build.sh                  # workspace ./ros_ws (build/, install/, log/)
#   source ros_ws/install/setup.bash       # then: ros2 launch masksem_ros recognizer.launch.py
#
#   tools/colcon_build.sh WORKSPACE [--interfaces-only]
#
# The wheels' CMake exports name the include folders of the machine that built them
# (/opt/python/cpXY-cpXY/...): they are pointed at this environment's Python and numpy once.
# The environment becomes the workspace's underlay (its local_setup.sh/.bash), so that after
# sourcing install/setup.bash every package of the wheels (std_msgs, …) is found too.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
workspace=${1:-$repo/ros_ws}
packages=("$repo/masksem_interfaces" "$repo")
names="masksem_interfaces masksem_ros"
if [ "${2:-}" = "--interfaces-only" ]; then
    packages=("$repo/masksem_interfaces")
    names="masksem_interfaces"
fi
command -v colcon > /dev/null || {
    echo "colcon not found: pip install -e \".[all]\" (or .[interfaces]) in this environment" >&2
    exit 2
}
prefix=$(python -c 'import sys; print(sys.prefix)')
[ -w "$prefix" ] || {
    echo "$prefix is not writable: build from a virtual environment of your own (python3 -m venv)" >&2
    exit 2
}
python - "$prefix" <<'PY'
"""Point the wheels' CMake exports at this Python's and numpy's include folders (idempotent)."""
import re
import sys
import sysconfig
from pathlib import Path

import numpy

prefix = Path(sys.argv[1])
built_python = re.compile(r"/opt/python/cp3\d+-cp3\d+/include/python3\.\d+")
built_numpy = re.compile(
    r"/opt/python/cp3\d+-cp3\d+/lib/python3\.\d+/site-packages/numpy/_?core/include"
)
python_include = sysconfig.get_paths()["include"]
numpy_include = numpy.get_include()
changed = 0
for path in (prefix / "share").glob("*/cmake/*.cmake"):
    text = path.read_text()
    fixed = built_numpy.sub(numpy_include, built_python.sub(python_include, text))
    if fixed != text:
        path.write_text(fixed)
        changed += 1
print(f"{changed} CMake exports of the wheels now name {python_include} and {numpy_include}")
PY
for shell in sh bash; do
    underlay="$prefix/local_setup.$shell"
    [ -f "$underlay" ] || cat > "$underlay" <<SH
# This Python environment's ROS 2 wheels as an underlay of colcon workspaces built on it
# (written by masksem's tools/colcon_build.sh).
case ":\${AMENT_PREFIX_PATH:-}:" in
  *":$prefix:"*) ;;
  *) export AMENT_PREFIX_PATH="$prefix\${AMENT_PREFIX_PATH:+:\$AMENT_PREFIX_PATH}" ;;
esac
SH
done
mkdir -p "$workspace"
cd "$workspace"
AMENT_PREFIX_PATH="$prefix${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" \
CMAKE_PREFIX_PATH="$prefix${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}" \
    colcon build --paths "${packages[@]}" --build-base "$workspace/build" \
    --install-base "$workspace/install" --event-handlers console_direct- > "$workspace/colcon.log" 2>&1 \
    || { tail -50 "$workspace/colcon.log"; echo "colcon build failed: $workspace/colcon.log" >&2; exit 1; }
echo "built $names in $workspace/install: source $workspace/install/setup.bash"
