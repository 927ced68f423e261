"""Play streams through the live recognizer the ROS node runs, and score what it publishes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from masksem_core.data.prepared import PreparedData, WindowDataset
from masksem_core.data.stream import StreamSampling
from masksem_core.data.stream_dataset import StreamWindowDataset
from masksem_core.data.transforms import Compose, ModelInput, Rotation
from masksem_core.errors import DataError
from masksem_core.evaluation.stream_metrics import StreamScore, score_stream
from masksem_core.evaluation.streams import Scenario, Stream
from masksem_core.runtime.recognizer import Decision, LiveRecognizer, LiveSettings
from masksem_core.runtime.session import ActionSession


def reraise(err: BaseException) -> None:
    raise err


def replay(
    stream: Stream, session: ActionSession, settings: LiveSettings
) -> dict[str, list[tuple[float, Decision]]]:
    """Person ("0": the actor) → the decisions (window end stamp on the stream's clock, the
    decision) that ``LiveRecognizer`` publishes for the stream, one message per frame at its
    stamp, an absent body NaN in its slot (unseen, so that nobody takes over its id);
    synchronous, so the result does not depend on the machine's speed."""
    decisions: dict[str, list[tuple[float, Decision]]] = {}
    seconds = {round(stamp * 1e9): float(stamp) for stamp in stream.stamps}  # ns → the stream's

    def keep(batch: list[Decision]) -> None:
        for decision in batch:
            at = seconds[decision.stamp_ns]  # scored on the stream's own clock
            decisions.setdefault(decision.person, []).append((at, decision))

    recognizer = LiveRecognizer(session, settings, keep, reraise, background=False)
    for stamp, frame in zip(stream.stamps, stream.frames, strict=True):
        present = np.abs(frame).sum(axis=(1, 2)) > 0  # (M,)
        if present.any():
            padded = np.where(present[:, None, None], frame, np.nan)  # (M, V, 3)
            recognizer.on_message(round(stamp * 1e9), padded.reshape(-1, 3))
    return decisions


def add_scenario(
    score: StreamScore,
    scenario: Scenario,
    session: ActionSession,
    settings: LiveSettings,
    on_stream: Callable[[Stream, dict[str, list[tuple[float, Decision]]]], None] | None = None,
) -> None:
    """Add the scenario's streams, played through ``session``, to ``score`` (and hand each
    stream with its decisions to ``on_stream``: a picture of it). The stream's actions are the
    first person's; anyone else in it stands still (their decisions count as idle ones)."""
    for stream in scenario.streams:
        by_person = replay(stream, session, settings)
        if on_stream is not None:
            on_stream(stream, by_person)
        for person in sorted({"0", *by_person}):  # the actor counts even when never decided on
            actions = stream.actions if person == "0" else []
            decisions = [(at, d.label) for at, d in by_person.get(person, [])]
            score_stream(score, decisions, actions, stream.span, settings.no_action_label)


def scenario_row(scenario: Scenario, score: StreamScore) -> dict[str, object]:
    """The scenario's row: its name, its scores, whether its idle time is synthetic."""
    return {"scenario": scenario.name, **score.summary(), "synthetic_idle": scenario.synthetic_idle}


def score_scenario(
    scenario: Scenario,
    session: ActionSession,
    settings: LiveSettings,
    on_stream: Callable[[Stream, dict[str, list[tuple[float, Decision]]]], None] | None = None,
) -> dict[str, object]:
    """The scenario's row for one model (``on_stream`` as in :func:`add_scenario`)."""
    score = StreamScore()
    add_scenario(score, scenario, session, settings, on_stream)
    return scenario_row(scenario, score)


def offline_top1(
    session: ActionSession,
    prepared: PreparedData,
    split: str,
    camera: Rotation | None = None,
) -> float:
    """Top-1 (%) of the model on the split's evaluation windows of its own window mode (clip:
    the centre crop; stream: the window ending where the action ends), seen by ``camera`` (the
    dataset's own camera when None), a prediction counting when it names the action."""
    correct, windows = offline_counts(session, prepared, split, camera)
    return 100.0 * correct / windows


def offline_counts(
    session: ActionSession,
    prepared: PreparedData,
    split: str,
    camera: Rotation | None = None,
) -> tuple[int, int]:
    """(windows named right, windows) behind :func:`offline_top1`."""
    info, spec = session.info, session.info.window_spec
    if spec.layout != prepared.meta["layout"]:
        raise DataError(
            f"the model's layout is {spec.layout}, the data {prepared.root} is "
            f"{prepared.meta['layout']}"
        )
    if spec.mode == "stream":
        windows = StreamWindowDataset(
            prepared, split, spec, StreamSampling(spec.seconds), train=False, camera=camera
        )
    else:
        seen = () if camera is None else (camera,)  # the camera, then the model's window
        windows = WindowDataset(prepared, split, Compose((*seen, ModelInput(spec))))
    correct = 0
    for start in range(0, len(windows), 64):
        batch = [windows[i] for i in range(start, min(start + 64, len(windows)))]
        x = np.stack([w.numpy() for w, _ in batch])
        predicted = session.probabilities(x).argmax(axis=1)
        names = prepared.class_names
        correct += sum(
            info.class_names[p] == names[y] for p, (_, y) in zip(predicted, batch, strict=True)
        )
    return correct, len(windows)
