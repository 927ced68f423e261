"""launch/launch_ros are not installable here: check the launch file statically against the
package (arguments, executables, installed files). It is run for real on a full ROS 2 install."""

import ast
import os
import re
import signal
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
LAUNCH = REPO / "launch" / "recognizer.launch.py"


def calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) == name
    ]


def keyword(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def test_launch_file_declares_arguments_and_starts_packaged_executables():
    tree = ast.parse(LAUNCH.read_text())
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in functions
    arguments = {c.args[0].value for c in calls(tree, "DeclareLaunchArgument")}
    assert arguments == {"model_path", "source", "params_file", "namespace"}
    setup = (REPO / "setup.py").read_text()
    nodes = calls(tree, "Node")
    executables = {keyword(n, "executable").value for n in nodes}
    assert executables == {"recognizer", "skeleton_source"}
    for name in executables:  # installed into lib/masksem_ros, where ros2 run looks
        script = REPO / "scripts" / name
        assert os.access(script, os.X_OK) and f'"scripts/{name}"' in setup
        assert f"from masksem_ros.entry import {name}" in script.read_text()
    # on a pip user's PATH only with the project's prefix
    scripts = set(re.findall(r'"([\w-]+) = masksem_ros\.', setup))
    assert scripts == {"masksem-recognizer", "masksem-skeleton-source"}
    assert all(keyword(n, "package").id == "PACKAGE" for n in nodes)
    assert 'PACKAGE = "masksem_ros"' in LAUNCH.read_text()
    source_node = next(n for n in nodes if keyword(n, "executable").value == "skeleton_source")
    assert keyword(source_node, "condition") is not None  # only with a source
    assert all(keyword(n, "namespace").id == "namespace" for n in nodes)
    recognizer = next(n for n in nodes if keyword(n, "executable").value == "recognizer")
    assert keyword(recognizer, "on_exit").id == "end_with_recognizer"
    assert keyword(source_node, "on_exit").id == "end_on_failure"
    assert {"end_with_recognizer", "end_on_failure"} <= functions
    # source and model_path reach the nodes as strings ("0" is a camera index, not an integer)
    typed = calls(tree, "ParameterValue")
    assert {c.args[0].id for c in typed} == {"source", "model_path"}
    assert all(keyword(c, "value_type").id == "str" for c in typed)
    assert calls(tree, "OpaqueFunction")  # a missing params_file is an error


def test_default_model_and_parameters_ship_with_the_package():
    text = LAUNCH.read_text()
    model = re.search(r'DEFAULT_MODEL = "([^"]+)"', text).group(1)
    assert (REPO / "models" / model).is_file()
    assert (REPO / "models" / model.replace(".onnx", ".md")).is_file()
    params = yaml.safe_load((REPO / "config" / "recognizer.yaml").read_text())
    from masksem_ros.recognizer_node import PARAMETERS as RECOGNIZER
    from masksem_ros.skeleton_source_node import PARAMETERS as SOURCE

    # node-name wildcards: the file applies under any launch namespace
    assert set(params) == {"/**/recognizer", "/**/skeleton_source"}
    assert set(params["/**/recognizer"]["ros__parameters"]) <= set(RECOGNIZER)
    assert set(params["/**/skeleton_source"]["ros__parameters"]) <= set(SOURCE)
    setup = (REPO / "setup.py").read_text()
    for folder in ("launch", "config", "models"):
        assert f"share/{{PACKAGE}}/{folder}" in setup


class _Context:
    """What launch hands an on_exit callable as its context (launch.LaunchContext)."""

    def __init__(self, is_shutdown: bool) -> None:
        self.is_shutdown = is_shutdown


class _Exited:
    """What launch hands an on_exit callable (launch.events.process.ProcessExited)."""

    def __init__(self, returncode: int) -> None:
        self.returncode = returncode
        self.process_name = "skeleton_source-2"


def test_a_failing_node_fails_the_launch_and_the_recognizer_ending_ends_it():
    """The on_exit callables, run as launch runs them (launch itself has no wheel here)."""
    import pytest

    namespace: dict = {}
    source = LAUNCH.read_text()
    tree = ast.parse(source)
    wanted = [
        n
        for n in tree.body
        if (isinstance(n, ast.FunctionDef) and n.name.startswith("end_"))
        or (isinstance(n, ast.Assign) and n.targets[0].id == "ENDED_BY_SHUTDOWN")
    ]
    shutdowns = []
    namespace["Shutdown"] = lambda reason: shutdowns.append(reason) or reason
    namespace["signal"] = signal
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(LAUNCH), "exec"), namespace)
    running, stopping = _Context(False), _Context(True)
    assert namespace["end_on_failure"](_Exited(0), running) == []
    with pytest.raises(RuntimeError, match="skeleton_source-2 failed with exit code 2"):
        namespace["end_on_failure"](_Exited(2), running)
    assert namespace["end_with_recognizer"](_Exited(0), running) == ["the recognizer ended"]
    with pytest.raises(RuntimeError, match="exit code 1"):
        namespace["end_with_recognizer"](_Exited(1), running)
    # the user's Ctrl-C: a node its signal ended while the launch shuts down has not failed
    assert namespace["end_on_failure"](_Exited(-signal.SIGINT), stopping) == []
    with pytest.raises(RuntimeError, match="exit code -2"):  # killed by SIGINT from elsewhere
        namespace["end_on_failure"](_Exited(-signal.SIGINT), running)
    with pytest.raises(RuntimeError, match="exit code 2"):  # a real failure while stopping
        namespace["end_on_failure"](_Exited(2), stopping)
