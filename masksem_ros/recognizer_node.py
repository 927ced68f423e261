"""ROS 2 managed node ``recognizer``: skeleton (PoseArray) → ONNX model → one decision stream per
person: ``actions`` (masksem_interfaces/ActionDecisionArray: stamped, per person, label,
confidence, raw and smoothed probabilities), and for the simple case ``action_label`` (String)
and ``action_scores`` (Float32MultiArray of the smoothed probabilities); counters, latency and
the lifecycle state on /diagnostics.

Lifecycle: configure loads the model, activate subscribes and publishes, deactivate stops and
forgets every person's history, cleanup releases the model, shutdown ends the process;
``autostart`` (default) does configure + activate at start. The pipeline itself is
masksem_core.runtime.recognizer.LiveRecognizer; this node converts messages, declares
parameters (ranges; read-only where a change needs a restart) and applies the others while
running.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseArray
from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from std_msgs.msg import Float32MultiArray, MultiArrayDimension, String

from masksem_core.errors import MaskSemError
from masksem_core.runtime.live import SkeletonMessageError
from masksem_core.runtime.model_info import ModelFileError
from masksem_core.runtime.recognizer import (
    Decision,
    LiveRecognizer,
    LiveSettings,
    assess_health,
    effective_window_seconds,
)
from masksem_core.runtime.session import ActionSession
from masksem_core.shipped import locate_shipped, shipped_candidates
from masksem_ros.codec import bodies_of, positions_of
from masksem_ros.interrupt import interrupted
from masksem_ros.spin import ParameterError, run_node

try:  # built by colcon from masksem_interfaces/ (README); a pip-only install has no actions
    # topic and no tracked-bodies input
    from masksem_interfaces.msg import ActionDecision, ActionDecisionArray, BodyArray
except ImportError:
    ActionDecision = ActionDecisionArray = BodyArray = None

PACKAGE = "masksem_ros"
WARN_EVERY_SECONDS = 1.0
# Sensor-data QoS (best effort, volatile) with room for a burst: a message is either handled
# (accepted or dropped by reason) or reported lost by the transport, never silently overwritten
INPUT_QOS = QoSProfile(
    depth=1000,
    reliability=ReliabilityPolicy.BEST_EFFORT,
    durability=DurabilityPolicy.VOLATILE,
    history=HistoryPolicy.KEEP_LAST,
)
DEFAULTS = LiveSettings()
LEVELS = {"ok": DiagnosticStatus.OK, "warn": DiagnosticStatus.WARN, "error": DiagnosticStatus.ERROR}


def _float(low: float, high: float) -> list[FloatingPointRange]:
    return [FloatingPointRange(from_value=low, to_value=high, step=0.0)]


def _int(low: int, high: int) -> list[IntegerRange]:
    return [IntegerRange(from_value=low, to_value=high, step=1)]


# name: (default, description, read_only); numeric ranges in RANGES
PARAMETERS = {
    "model_path": (
        "gtu_masksem.onnx",
        "ONNX model: a path, or a file name in the package's models/ folder",
        True,
    ),
    "autostart": (True, "configure and activate at start (false: wait for lifecycle calls)", True),
    "window_seconds": (
        DEFAULTS.window_seconds,
        "history classified each time (s); 0: the model's (stream-mode models fix it)",
        False,
    ),
    "stride_seconds": (DEFAULTS.stride_seconds, "message time between classifications (s)", False),
    "score_threshold": (
        DEFAULTS.score_threshold,
        "threshold of the model's decision rule (action_mass: 1 - p(no action), top_class: "
        "the top probability), below it no_action_label; < 0: the model's calibrated one "
        "(else 0.5)",
        False,
    ),
    "smoothing_window": (DEFAULTS.smoothing_window, "majority over the last decisions", False),
    "no_action_label": (DEFAULTS.no_action_label, "label when no class is confident", False),
    "max_persons": (DEFAULTS.max_persons, "bodies accepted per message (V·M poses)", False),
    "person_timeout": (DEFAULTS.person_timeout, "a body unseen this long leaves (s)", False),
    "max_gap_seconds": (DEFAULTS.max_gap_seconds, "a larger gap restarts the history (s)", False),
    "providers": ([""], "ONNX Runtime providers; empty = TensorRT → CUDA → CPU", True),
    "threads": (0, "ONNX Runtime intra-op threads (0 = runtime default)", True),
    "input_topic": (
        "skeleton",
        'geometry_msgs/PoseArray input (bodies by position: slot b is person "b"; NaN-pad a '
        "departed body's slot), sensor-data QoS",
        True,
    ),
    "bodies_topic": (
        "bodies",
        "masksem_interfaces/BodyArray input (people with the tracker's ids), sensor-data QoS; "
        "publish on one of the two inputs",
        True,
    ),
    "label_topic": ("action_label", "std_msgs/String output", True),
    "scores_topic": (
        "action_scores",
        "std_msgs/Float32MultiArray smoothed class probabilities (the label's)",
        True,
    ),
    "actions_topic": (
        "actions",
        "masksem_interfaces/ActionDecisionArray: stamped decisions per person",
        True,
    ),
    "diagnostics_period": (1.0, "seconds between /diagnostics messages (0 = never)", True),
}
RANGES = {
    "window_seconds": _float(0.0, 60.0),
    "stride_seconds": _float(0.01, 60.0),
    "score_threshold": _float(-1.0, 1.0),
    "person_timeout": _float(0.01, 60.0),
    "max_gap_seconds": _float(0.01, 600.0),
    "diagnostics_period": _float(0.0, 3600.0),
    "smoothing_window": _int(1, 100),
    "max_persons": _int(1, 16),
    "threads": _int(0, 256),
}


def resolve_model_path(path: str) -> Path:
    """An absolute path, a path relative to the working folder, or a file name in the
    package's installed models/ folder (the ament index of a colcon install, or the share/
    folder of a pip install); a ModelFileError naming every place searched otherwise."""
    shares = []
    try:
        from ament_index_python.packages import get_package_share_directory

        shares.append(Path(get_package_share_directory(PACKAGE)))
    except (ImportError, LookupError, OSError):  # no ament index (pip install, no sourcing)
        pass
    found = locate_shipped(path, shares)
    if found.is_file():
        return found
    searched = ", ".join(str(c) for c in shipped_candidates(path, shares))
    raise ModelFileError(
        f"model file {path!r} does not exist; searched {searched}. Pass "
        "-p model_path:=/path/to/model.onnx (export one with training/export_onnx.py)"
    )


def decision_message(decision: Decision, class_names: list[str], frame_id: str) -> object:
    """The per-person message of one decision (masksem_interfaces/ActionDecision)."""
    message = ActionDecision()
    message.header.stamp = Time(nanoseconds=decision.stamp_ns).to_msg()
    message.header.frame_id = frame_id
    message.window_start = Time(nanoseconds=decision.window_start_ns).to_msg()
    message.person_id = decision.person
    message.label = decision.label
    index = class_names.index(decision.label) if decision.label in class_names else None
    top = int(np.argmax(decision.smoothed)) if index is None else index
    message.confidence = float(decision.smoothed[top])
    message.class_names = class_names
    message.probabilities = decision.probabilities.astype(float).tolist()
    message.smoothed_probabilities = decision.smoothed.astype(float).tolist()
    return message


DOUBLES = frozenset(name for name, (default, _, _) in PARAMETERS.items() if type(default) is float)


def as_doubles(parameters: list[Parameter]) -> list[Parameter]:
    """Integer values of double parameters as doubles (``stride_seconds: 1`` in a params file,
    ``ros2 param set /recognizer stride_seconds 1``), so that their range applies."""
    return [
        Parameter(p.name, Parameter.Type.DOUBLE, float(p.value))
        if p.name in DOUBLES and p.type_ == Parameter.Type.INTEGER
        else p
        for p in parameters
    ]


class RecognizerNode(LifecycleNode):
    def __init__(self) -> None:
        super().__init__("recognizer")
        for name, (default, description, read_only) in PARAMETERS.items():
            descriptor = ParameterDescriptor(
                description=description, read_only=read_only, dynamic_typing=name in DOUBLES
            )
            if name in RANGES:
                key = "integer_range" if isinstance(default, int) else "floating_point_range"
                setattr(descriptor, key, RANGES[name])
            self.declare_parameter(name, default, descriptor)
        self.add_pre_set_parameters_callback(as_doubles)
        self.check_doubles()
        self.add_on_set_parameters_callback(self.on_set_parameters)
        self.recognizer: LiveRecognizer | None = None
        self.reported: dict[str, float | int] = {}  # statistics at the last /diagnostics
        self.failure = ""
        self.state = "unconfigured"
        self.frame_id = ""  # of the latest input message
        self.lost = 0  # messages the transport reports lost before they reached us
        self.warned: dict[str, float] = {}  # drop kind → when it was last logged
        self.subscriptions_in: list = []  # the skeleton inputs while active
        self.silence_timer = None
        self.label_pub = self.scores_pub = self.actions_pub = None
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        period = self.value("diagnostics_period")
        if period > 0:
            self.create_timer(period, self.publish_diagnostics)

    def check_doubles(self) -> None:
        """The double parameters as given at start (dynamic typing lets an integer through the
        declaration; ``value`` reads it as a double), checked against their ranges."""
        for name in sorted(DOUBLES):
            value = self.get_parameter(name).value
            if type(value) not in (int, float):
                raise ParameterError(f"parameter {name} must be a number, got {value!r}")
            if type(value) is int:  # stored as the double it is: ros2 param get shows 1.0
                self.set_parameters([Parameter(name, Parameter.Type.DOUBLE, float(value))])
            (span,) = RANGES.get(name, [FloatingPointRange(from_value=-1e308, to_value=1e308)])
            if not span.from_value <= value <= span.to_value:
                raise ParameterError(
                    f"parameter {name} = {value} is out of its range "
                    f"[{span.from_value:g}, {span.to_value:g}]"
                )
        try:
            self.settings()
        except MaskSemError as err:
            raise ParameterError(str(err)) from None

    def value(self, name: str) -> object:
        value = self.get_parameter(name).value
        return float(value) if name in DOUBLES else value

    def settings(self) -> LiveSettings:
        return LiveSettings(**{name: self.value(name) for name in asdict(DEFAULTS)})

    # -- parameters -------------------------------------------------------------------------
    def on_set_parameters(self, parameters: list) -> SetParametersResult:
        """Validate a change against the other settings and apply it to the running pipeline."""
        changes = {p.name: p.value for p in parameters if p.name in asdict(DEFAULTS)}
        if not changes:
            return SetParametersResult(successful=True)
        for name, value in changes.items():
            if name in DOUBLES and type(value) not in (int, float):
                return SetParametersResult(
                    successful=False,
                    reason=f"parameter {name} must be a number (a double), got {value!r} "
                    f"({type(value).__name__}); e.g. ros2 param set /recognizer {name} "
                    f"{float(getattr(DEFAULTS, name))}",
                )
        try:
            settings = replace(self.settings(), **changes)
        except (MaskSemError, TypeError) as err:
            return SetParametersResult(successful=False, reason=str(err))
        if self.recognizer is not None:
            try:
                self.recognizer.update(settings)
            except MaskSemError as err:
                return SetParametersResult(successful=False, reason=str(err))
        return SetParametersResult(successful=True)

    # -- lifecycle ---------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        providers = [x for x in self.value("providers") if x] or None
        try:
            path = resolve_model_path(str(self.value("model_path")))
            settings = self.settings()  # LiveSettings names what does not fit together
            session = ActionSession(
                path, providers=providers, threads=self.value("threads") or None
            )
            recognizer = LiveRecognizer(
                session,
                settings,
                self.publish_decisions,
                self.on_worker_error,
                on_left=self.publish_departures,
            )
        except MaskSemError as err:
            self.get_logger().error(f"cannot configure: {err}")
            self.failure = str(err)
            return TransitionCallbackReturn.FAILURE
        info = session.info
        self.get_logger().info(
            f"model {path}: {len(info.class_names)} classes, layout {info.window_spec.layout}, "
            f"{info.window_spec.mode} windows of {effective_window_seconds(settings, info):g} s, "
            f"provider {session.provider}"
        )
        for note in info.notes:
            self.get_logger().warning(f"model {path}: {note}")
        session.warm_up(max(1, info.bodies))
        self.recognizer = recognizer
        self.reported = {}
        if not self.has_parameter("class_names"):
            self.declare_parameter(
                "class_names",
                list(info.class_names),
                ParameterDescriptor(description="the model's classes (read-only)", read_only=True),
            )
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.label_pub = self.create_lifecycle_publisher(
            String, self.value("label_topic"), reliable
        )
        self.scores_pub = self.create_lifecycle_publisher(
            Float32MultiArray, self.value("scores_topic"), 10
        )
        if ActionDecisionArray is None:
            self.get_logger().warning(
                "masksem_interfaces is not built: no per-person actions topic (build it with "
                "colcon beside this package and source the workspace; README)"
            )
        else:
            self.actions_pub = self.create_lifecycle_publisher(
                ActionDecisionArray, self.value("actions_topic"), reliable
            )
        self.state = "inactive"
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        inputs = [(PoseArray, "input_topic", self.on_skeleton)]
        if BodyArray is not None:
            inputs.append((BodyArray, "bodies_topic", self.on_bodies))
        lost = SubscriptionEventCallbacks(message_lost=self.on_message_lost)
        self.subscriptions_in = [
            self.create_subscription(
                kind, self.value(topic), callback, INPUT_QOS, event_callbacks=lost
            )
            for kind, topic, callback in inputs
        ]
        self.silence_timer = self.create_timer(0.2, self.recognizer.leave_if_silent)
        self.state = "active"
        topics = " and ".join(s.topic_name for s in self.subscriptions_in)
        self.get_logger().info(f"active: listening on {topics}")
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.stop_listening()
        self.recognizer.reset()  # a later activation starts every person afresh
        self.state = "inactive"
        return super().on_deactivate(state)

    def stop_listening(self) -> None:
        for subscription in self.subscriptions_in:
            self.destroy_subscription(subscription)
        self.subscriptions_in = []
        if self.silence_timer is not None:
            self.destroy_timer(self.silence_timer)
            self.silence_timer = None

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        """``ros2 lifecycle set … shutdown`` ends the process (exit code 0) once the transition's
        reply has been sent."""
        self.release()
        self.state = "finalized"
        self.get_logger().info("shutdown transition: the process ends")
        self.create_timer(0.2, lambda: rclpy.try_shutdown(context=self.context))
        return TransitionCallbackReturn.SUCCESS

    def release(self) -> None:
        """Everything configure and activate made (shutdown may come from any state)."""
        self.stop_listening()
        if self.recognizer is not None:
            self.recognizer.stop()
            self.recognizer = None
        for publisher in (self.label_pub, self.scores_pub, self.actions_pub):
            if publisher is not None:
                self.destroy_lifecycle_publisher(publisher)
        self.label_pub = self.scores_pub = self.actions_pub = None
        self.state = "unconfigured"

    # -- data --------------------------------------------------------------------------------
    def on_skeleton(self, msg: PoseArray) -> None:
        stamp, positions = positions_of(msg)
        self.feed_input(msg, "input_topic", lambda: self.recognizer.on_message(stamp, positions))

    def on_bodies(self, msg: object) -> None:
        stamp, ids, bodies = bodies_of(msg)
        self.feed_input(msg, "bodies_topic", lambda: self.recognizer.on_bodies(stamp, ids, bodies))

    def feed_input(self, msg: object, topic: str, feed: Callable[[], None]) -> None:
        """Feed one input message to the recognizer; a dropped one is logged at most once a
        second per reason (all are counted)."""
        self.frame_id = msg.header.frame_id
        try:
            feed()
        except SkeletonMessageError as err:
            now = time.monotonic()
            if now - self.warned.get(err.kind, -np.inf) >= WARN_EVERY_SECONDS:
                self.warned[err.kind] = now
                name = self.resolve_topic_name(self.value(topic))
                self.get_logger().warning(f"dropped a {name} message ({err.kind}): {err}")

    def on_message_lost(self, info: object) -> None:
        self.lost += info.total_count_change

    def publish_decisions(self, decisions: list[Decision]) -> None:
        """Per person on ``actions``; each decision's label and smoothed scores on the plain
        topics."""
        if self.actions_pub is not None:
            class_names = list(self.recognizer.session.class_names)
            array = ActionDecisionArray()
            array.header.stamp = Time(nanoseconds=decisions[0].stamp_ns).to_msg()
            array.header.frame_id = self.frame_id
            array.decisions = [decision_message(d, class_names, self.frame_id) for d in decisions]
            self.actions_pub.publish(array)
        for decision in decisions:
            scores = Float32MultiArray()
            size = len(decision.smoothed)
            scores.layout.dim = [MultiArrayDimension(label="classes", size=size, stride=size)]
            scores.data = decision.smoothed.astype(float).tolist()
            self.scores_pub.publish(scores)
            self.label_pub.publish(String(data=decision.label))

    def publish_departures(self, stamp_ns: int, ids: list[str]) -> None:
        """One ActionDecisionArray without decisions whose ``left`` names who left."""
        if self.actions_pub is not None:
            array = ActionDecisionArray()
            array.header.stamp = Time(nanoseconds=stamp_ns).to_msg()
            array.header.frame_id = self.frame_id
            array.left = ids
            self.actions_pub.publish(array)

    def on_worker_error(self, err: BaseException) -> None:
        self.get_logger().error(f"inference failed, window dropped: {err}")

    def publish_diagnostics(self) -> None:
        """Counters and latency while configured; the lifecycle state always."""
        stats = {} if self.recognizer is None else self.recognizer.statistics()
        stats["lost_in_transport"] = self.lost
        level, message = assess_health(self.reported, stats)
        if self.state != "active":
            level, message = "ok", f"{self.state}: not listening"
        self.reported = stats
        status = DiagnosticStatus(
            level=LEVELS[level],
            name=f"{self.get_fully_qualified_name()}: action recognition",
            message=message,
            hardware_id=self.recognizer.session.provider if self.recognizer else "",
            values=[KeyValue(key="state", value=self.state)]
            + [
                KeyValue(key=k, value=f"{v:.3f}" if isinstance(v, float) else str(v))
                for k, v in stats.items()
            ],
        )
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self.diagnostics_pub.publish(array)


def start(node: RecognizerNode) -> int:
    """Autostart: configure + activate; a configuration that fails is exit code 2."""
    if not node.value("autostart"):
        return 0
    if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
        if interrupted():  # Ctrl-C shut the context down mid-configure: no failure to report
            return 0
        print(f"recognizer: {node.failure or 'configure failed'}", file=sys.stderr)
        return 2
    node.trigger_activate()
    return 0


def main(args: list[str] | None = None) -> int:
    return run_node(RecognizerNode, start, args)


if __name__ == "__main__":
    sys.exit(main())
