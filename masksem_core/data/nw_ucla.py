"""Northwestern-UCLA Multiview Action 3D json files (Kinect v1, 20 joints)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from masksem_core.data.sequence import SkeletonFileError, SkeletonSequence, check_finite

NAME_PATTERN = re.compile(r"a(\d{2})_s(\d{2})_e(\d{2})_v(\d{2})")
ACTIONS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)  # the 10 action ids that exist; label = position
CLASS_NAMES = (
    "pick up with one hand",
    "pick up with two hands",
    "drop trash",
    "walk around",
    "sit down",
    "stand up",
    "donning",
    "doffing",
    "throw",
    "carry",
)
TRAIN_VIEWS = frozenset((1, 2))


def read_nw_ucla(path: str | Path) -> SkeletonSequence:
    """Read ``aXX_sYY_eZZ_vWW.json`` ({"skeletons": T×20×3, ...}) into a (1, T, 20, 3) sequence."""
    path = Path(path)
    match = NAME_PATTERN.search(path.name)
    if not match:
        raise SkeletonFileError(path, "name is not aXX_sYY_eZZ_vWW")
    action, subject, episode, view = (int(g) for g in match.groups())
    if action not in ACTIONS:
        raise SkeletonFileError(path, f"unknown NW-UCLA action a{action:02d}")
    try:
        content = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise SkeletonFileError(path, f"invalid json: {err.msg}", err.lineno) from None
    skeletons = content.get("skeletons") if isinstance(content, dict) else None
    if not skeletons:
        raise SkeletonFileError(path, "no 'skeletons' array (or it is empty)")
    try:
        data = np.asarray(skeletons, dtype=np.float32)
    except (ValueError, TypeError):
        raise SkeletonFileError(path, "'skeletons' is not a numeric T×20×3 array") from None
    if data.ndim != 3 or data.shape[1:] != (20, 3):
        raise SkeletonFileError(path, f"'skeletons' has shape {data.shape}, expected (T, 20, 3)")
    check_finite(path, data, 1, data.size)
    return SkeletonSequence(
        name=path.stem,
        label=ACTIONS.index(action),
        data=data[None],
        subject=subject,
        view=view,
        extra={"episode": episode},
    )


def nw_ucla_splits(samples: list[dict]) -> dict[str, list[int]]:
    """The standard cross-view split: views 1–2 train, view 3 test; the validation protocol
    that never looks at view 3: train on view 1, validate on view 2 (a camera position the
    model has not seen, as view 3 is for the test); and, to tell the viewpoint gap from the
    gap to new people, view 1's subjects 1–7 (or 1–3, 1–5: a learning curve in people) for
    training against subjects 8–10 seen from view 1 (same camera) or from view 2 (new
    camera)."""

    def where(view: int, subjects: range | None = None) -> list[int]:
        return [
            i
            for i, s in enumerate(samples)
            if s["view"] == view and (subjects is None or s["subject"] in subjects)
        ]

    return {
        "xview_train": [i for i, s in enumerate(samples) if s["view"] in TRAIN_VIEWS],
        "xview_test": [i for i, s in enumerate(samples) if s["view"] not in TRAIN_VIEWS],
        "view1_train": where(1),
        "view2_val": where(2),
        **{f"view1_subjects1to{n}": where(1, range(1, n + 1)) for n in (3, 5, 7)},
        "view1_subjects8to10": where(1, range(8, 11)),
        "view2_subjects8to10": where(2, range(8, 11)),
    }
