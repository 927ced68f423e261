"""Continuous test streams built from a prepared split, as a person in front of a robot would
produce them: each action alone; standing still → action → standing still; actions back to
back; two people in one message; and the dataset's real recordings where it has them.

Idle time is real where a dataset records it (the unlabelled periods of continuous recordings);
elsewhere it is :func:`masksem_core.data.stream.synthetic_idle` (a standing person with sway and
tracker jitter), and the scenario says so (``synthetic_idle``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from masksem_core.data.prepared import PreparedData
from masksem_core.data.stream import chain_clips, extend_with_idle, synthetic_idle
from masksem_core.data.transforms import Rotation
from masksem_core.skeleton import get_layout

IDLE_SECONDS = 3.0  # standing still before and after an action (idle → action → idle)
SECOND_PERSON_OFFSET = np.array([1.0, 0.0, 0.0], dtype=np.float32)  # m, beside the first


@dataclass
class Stream:
    """Frames (T, M, V, 3) in metres at ``stamps`` (s), and the labelled actions (class name,
    start s, end s) performed in them."""

    name: str
    stamps: np.ndarray
    frames: np.ndarray
    actions: list[tuple[str, float, float]]

    @property
    def span(self) -> tuple[float, float]:
        return float(self.stamps[0]), float(self.stamps[-1])


@dataclass
class Scenario:
    name: str
    streams: list[Stream]
    synthetic_idle: bool


def action_clip(prepared: PreparedData, item: tuple[int, int, int, int]) -> Stream:
    """One labelled action alone: its frames at its stamps."""
    index, label, first, end = item
    frames, stamps = prepared.action_frames(index, first, end)
    name = prepared.class_names[label]
    return Stream(
        f"{prepared.samples[index]['name']}:{first}",
        stamps - stamps[0],
        np.ascontiguousarray(frames),
        [(name, 0.0, float(stamps[-1] - stamps[0]))],
    )


def with_idle(clip: Stream, fps: float, rng: np.random.Generator) -> Stream:
    """``IDLE_SECONDS`` of synthetic standing still before and after the clip."""
    frames, stamps = extend_with_idle(
        clip.frames.transpose(1, 0, 2, 3), clip.stamps, IDLE_SECONDS, fps, rng
    )
    return Stream(
        clip.name,
        stamps - stamps[0],
        frames,
        [(label, start + IDLE_SECONDS, end + IDLE_SECONDS) for label, start, end in clip.actions],
    )


def back_to_back(clips: list[Stream], fps: float, centre_joint: int) -> Stream:
    """The clips one after another (:func:`masksem_core.data.stream.chain_clips`)."""
    frames, stamps, shifts = chain_clips(
        [(clip.frames, clip.stamps) for clip in clips], fps, centre_joint
    )
    actions = [
        (label, start + shift, end + shift)
        for clip, shift in zip(clips, shifts, strict=True)
        for label, start, end in clip.actions
    ]
    return Stream("back_to_back", stamps, frames, actions)


def two_people(stream: Stream, fps: float, rng: np.random.Generator) -> Stream:
    """The stream's first person acting, a second one standing still beside them (synthetic),
    both in every message."""
    first = stream.frames[:, :1]  # (T, 1, V, 3)
    still = synthetic_idle(first[0] + SECOND_PERSON_OFFSET, len(stream.stamps) / fps, fps, rng)
    still = still[:, : len(stream.stamps)].transpose(1, 0, 2, 3)
    frames = np.concatenate([first, still], axis=1)
    return Stream(stream.name, stream.stamps, frames, stream.actions)


def recordings(prepared: PreparedData, split: str) -> list[Stream]:
    """The split's continuous recordings as they are, at their own stamps."""
    streams = []
    for index in prepared.split_indices(split):
        if "intervals" not in prepared.samples[index]["extra"]:
            continue
        stamps = prepared.stamps(index)
        actions = [
            (prepared.class_names[label], float(stamps[first]), float(stamps[end - 1]))
            for label, first, end in prepared.intervals(index)
        ]
        frames = prepared.sequence(index).transpose(1, 0, 2, 3)
        streams.append(
            Stream(prepared.samples[index]["name"], stamps, np.ascontiguousarray(frames), actions)
        )
    return streams


def camera_yaw(yaw_degrees: float) -> Rotation:
    """The rotation of a camera moved ``yaw_degrees`` around the people about the vertical axis
    (y: vertical in the camera axes of every layout); the recognizer centres each window, so
    where the camera stands matters only through this rotation."""
    return Rotation((0.0, float(np.radians(yaw_degrees)), 0.0))


def seen_from(scenario: Scenario, camera: Rotation) -> Scenario:
    """The scenario's streams as a camera rotated by ``camera`` records them (absent bodies stay
    all-zero)."""
    streams = [replace(s, frames=camera(s.frames)) for s in scenario.streams]
    return replace(scenario, streams=streams)


def build_scenarios(prepared: PreparedData, split: str, seed: int = 0) -> list[Scenario]:
    """Every scenario the split supports, seeded."""
    rng = np.random.default_rng(seed)
    fps = prepared.fps
    layout = get_layout(prepared.meta["layout"])
    clips = [action_clip(prepared, item) for item in prepared.actions(split)]
    framed = [with_idle(clip, fps, rng) for clip in clips]
    order = rng.permutation(len(clips))
    scenarios = [
        Scenario("alone", clips, synthetic_idle=False),
        Scenario("idle_action_idle", framed, synthetic_idle=True),
        Scenario(
            "back_to_back",
            [back_to_back([clips[i] for i in order], fps, layout.index(layout.centre_joint))],
            synthetic_idle=False,
        ),
        Scenario("two_people", [two_people(s, fps, rng) for s in framed], synthetic_idle=True),
    ]
    real = recordings(prepared, split)
    if real:
        scenarios.append(Scenario("recordings", real, synthetic_idle=False))
    return scenarios
