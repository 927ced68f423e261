"""Train and score the yardstick on exactly the windows, splits and folds of a learned recipe.

Training windows are ``passes`` draws of the config's own training windows (clip mode: random
crop + resize and rotation; stream mode: random window ends, the idle share, the
augmentations), scored on the config's deterministic evaluation windows, so the yardstick sees
what the learned model sees. Settings (resampled frames, L2 strength) are chosen on validation
only: leave-one-subject-out over the config's training and validation subjects (the folds of
training/crossval.py), or one training → validation split pair; the test split is scored once,
by the chosen setting fitted on the training data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from masksem_core.config import DataConfig, ExperimentConfig
from masksem_core.data.prepared import PreparedData
from masksem_core.data.stream import BACKGROUND
from masksem_core.engine.builders import (
    evaluation_windows,
    model_class_names,
    training_windows,
    window_spec,
)
from masksem_core.engine.crossval import (
    EVERYONE_SPLIT,
    FOLD_MODEL,
    HELDOUT_FILE,
    add_crossval_splits,
    crossval_dir,
    everyone_config,
    fold_config,
    subject_split,
    write_index,
)
from masksem_core.export.calibration import HeldOutWindows
from masksem_core.export.export_checkpoint import CROSSVAL_SOURCE, calibration_windows
from masksem_core.export.onnx_export import check_parity, export_classifier
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.runtime.session import ActionSession
from masksem_core.skeleton import get_layout
from masksem_core.yardstick.classifier import YardstickClassifier, top1
from masksem_core.yardstick.features import YardstickError

FRAMES = (12, 16, 20, 24)  # resampled frames tried
L2 = (1e-3, 1e-2, 1e-1, 1.0, 10.0)  # L2 strengths tried (on standardised features)
PASSES = 10  # draws of every training window
INIT = "yardstick"  # what the yardstick's ONNX metadata and fold index give as its init


@dataclass(frozen=True)
class Setting:
    frames: int
    l2: float

    def describe(self) -> str:
        return f"{self.frames} frames, L2 {self.l2:g}"


def grid(frames: Iterable[int] = FRAMES, l2: Iterable[float] = L2) -> list[Setting]:
    return [Setting(f, c) for f in frames for c in l2]


@dataclass
class Windows:
    """(N, M, T, V, 3) windows and their labels, with features cached per frame count."""

    x: torch.Tensor
    y: torch.Tensor
    cache: dict[int, torch.Tensor]

    @classmethod
    def of(cls, dataset, passes: int = 1, seed: int = 0) -> Windows:
        """``passes`` draws of every item of ``dataset`` (its RNG seeded by ``seed``)."""
        if len(dataset) == 0:
            raise YardstickError("the split holds no windows")
        torch.manual_seed(seed)
        items = [dataset[i % len(dataset)] for i in range(passes * len(dataset))]
        x = torch.stack([w for w, _ in items])
        if torch.isnan(x).any():
            raise YardstickError("windows hold NaN joints; the yardstick takes finite input only")
        return cls(x, torch.tensor([label for _, label in items]), {})

    def features(self, model: YardstickClassifier) -> torch.Tensor:
        frames = model.features.frames
        if frames not in self.cache:
            self.cache[frames] = model.encode(self.x)
        return self.cache[frames]


def check_input(prepared: PreparedData, data: DataConfig, frames: Iterable[int]) -> None:
    """Refuse what the learned path refuses: an unknown layout, and resampling to more frames
    than the model's window has — naming the prepared dataset."""
    try:
        get_layout(prepared.meta["layout"])
    except (KeyError, ValueError) as err:
        raise YardstickError(f"{prepared.root}: {err}") from None
    too_many = [f for f in frames if not 2 <= f <= data.window]
    if too_many:
        raise YardstickError(
            f"{prepared.root}: the yardstick resamples windows of {data.window} frames; "
            f"frames {too_many} are outside 2 … {data.window}"
        )


def new_model(prepared: PreparedData, data: DataConfig, setting: Setting) -> YardstickClassifier:
    classes = len(model_class_names(prepared, data))
    return YardstickClassifier(
        get_layout(prepared.meta["layout"]), data.window, setting.frames, classes
    )


def fitted(
    prepared: PreparedData, data: DataConfig, setting: Setting, train: Windows
) -> YardstickClassifier:
    """The yardstick of ``setting`` fitted on ``train``."""
    model = new_model(prepared, data, setting)
    model.fit(train.features(model), train.y, setting.l2)
    return model.eval()


def scored(model: YardstickClassifier, windows: Windows, action_classes: int) -> float:
    """Top-1 (%) on the action windows of ``windows`` (labels below ``action_classes``; idle
    windows, if any, left out), as evaluate_stream's offline top-1 counts it."""
    with torch.no_grad():
        logits = model.linear((windows.features(model) - model.mean) / model.std).numpy()
    labels = windows.y.numpy()
    actions = labels < action_classes
    return 100.0 * top1(logits[actions], labels[actions])


def training_set(
    prepared: PreparedData, split: str, data: DataConfig, passes: int, seed: int
) -> Windows:
    return Windows.of(training_windows(prepared, split, data), passes, seed)


def evaluation_set(prepared: PreparedData, split: str, data: DataConfig) -> Windows:
    return Windows.of(evaluation_windows(prepared, split, data))


def select(
    prepared: PreparedData,
    data: DataConfig,
    pairs: list[tuple[str, Windows, Windows]],
    settings: list[Setting],
) -> tuple[Setting, dict[Setting, list[float]]]:
    """Each setting's top-1 on every (name, training, validation) pair; the setting with the
    best mean (ties: the first of the grid)."""
    scores: dict[Setting, list[float]] = {}
    for setting in settings:
        scores[setting] = []
        for _, train, val in pairs:
            model = fitted(prepared, data, setting, train)
            scores[setting].append(scored(model, val, len(prepared.class_names)))
    best = max(settings, key=lambda s: np.mean(scores[s]))
    return best, scores


def model_info(config: ExperimentConfig, prepared: PreparedData, setting: Setting) -> ModelInfo:
    """The yardstick's ONNX metadata: the learned recipe's window specification and classes."""
    classes = tuple(model_class_names(prepared, config.data))
    return ModelInfo(
        class_names=classes,
        window_spec=window_spec(config.data, prepared),
        segment_length=config.model.segment_length,
        dataset=config.data.dataset,
        experiment=f"{config.experiment} yardstick ({setting.describe()})",
        init=INIT,
        source_checkpoint="",
        bodies=int(prepared.meta["record_shape"][0]),
        background_class=BACKGROUND if BACKGROUND in classes else "",
    )


def export_yardstick(
    model: YardstickClassifier,
    info: ModelInfo,
    out: Path,
    heldout: HeldOutWindows | None,
    target_false_alarm: float,
    decision_rule: str,
    source: str = CROSSVAL_SOURCE,
) -> dict:
    """Write the yardstick as ONNX (calibrated on ``heldout``, windows of ``source``, when it
    has a "no action" class), check parity with PyTorch on random windows. → the
    calibration, as a dict."""
    report: dict = {}
    if heldout is not None and info.background_class:
        calibration = heldout.calibrate(target_false_alarm, decision_rule, source)
        info = replace(
            info,
            temperature=calibration.temperature,
            score_threshold=calibration.threshold,
            decision_rule=decision_rule,
        )
        report["calibration"] = asdict(calibration)
    out.parent.mkdir(parents=True, exist_ok=True)
    export_classifier(model, out, info)
    spec = info.window_spec
    rng = np.random.default_rng(0)
    random = (rng.normal(size=(4, 1, spec.frames, spec.num_joints, 3)) * 0.3).astype(np.float32)
    report["parity"] = check_parity(model, ActionSession(out), random)
    return report


def crossvalidate(
    config: ExperimentConfig,
    out: Path,
    settings: list[Setting],
    passes: int,
    seed: int,
    target_false_alarm: float,
    decision_rule: str,
) -> dict:
    """Leave-one-subject-out over the config's training and validation subjects: choose the
    setting by mean held-out top-1, then, for a stream-mode recipe with a "no action" class,
    export each fold calibrated on the other folds' held-out windows and the model of everyone
    calibrated on all of them, in training/crossval.py's layout under ``out`` (so that
    evaluate_stream --crossval plays them). → the rows to report."""
    prepared = PreparedData(config.data.root)
    check_input(prepared, config.data, {s.frames for s in settings})
    subjects = add_crossval_splits(prepared, config, save=False)
    folds = [fold_config(config, s) for s in subjects]
    pairs = [
        (
            subject,
            training_set(prepared, fold.data.train_split, fold.data, passes, seed),
            evaluation_set(prepared, subject_split(subject), fold.data),
        )
        for subject, fold in zip(subjects, folds, strict=True)
    ]
    best, scores = select(prepared, config.data, pairs, settings)
    result = {
        "subjects": subjects,
        "setting": best,
        "grid": {s: float(np.mean(v)) for s, v in scores.items()},
        "per_subject": dict(zip(subjects, scores[best], strict=True)),
        "exported": None,
    }
    info = model_info(config, prepared, best)
    if not info.background_class or config.data.window_mode != "stream":
        return result
    target = replace(config, output_dir=str(out))
    models, parts = [], []
    for (subject, train, _), fold in zip(pairs, folds, strict=True):
        model = fitted(prepared, fold.data, best, train)
        models.append(model)
        parts.append(calibration_windows(model, prepared, fold.data, subject_split(subject)))
    calibrations = []
    for k, subject in enumerate(subjects):
        others = HeldOutWindows.pooled([p for j, p in enumerate(parts) if j != k])
        path = Path(fold_config(target, subject).output_dir)
        path.mkdir(parents=True, exist_ok=True)
        parts[k].save(path / HELDOUT_FILE)
        report = export_yardstick(
            models[k], info, path / FOLD_MODEL, others, target_false_alarm, decision_rule
        )
        calibrations.append((subject, parts[k], report["calibration"]))
    pooled = HeldOutWindows.pooled(parts)
    pooled.save(crossval_dir(target) / HELDOUT_FILE)
    everyone = everyone_config(target)
    model = fitted(
        prepared,
        everyone.data,
        best,
        training_set(prepared, EVERYONE_SPLIT, everyone.data, passes, seed),
    )
    shipped = Path(everyone.output_dir) / FOLD_MODEL
    export_yardstick(model, info, shipped, pooled, target_false_alarm, decision_rule)
    index = write_index(target, subjects, INIT, target_false_alarm, shipped)
    result["exported"] = {"index": index, "everyone": shipped, "folds": calibrations}
    return result


def validated(
    config: ExperimentConfig,
    train_split: str,
    val_split: str,
    settings: list[Setting],
    passes: int,
    seed: int,
) -> tuple[Setting, dict[Setting, float]]:
    """The setting with the best top-1 on ``val_split`` when fitted on ``train_split``."""
    prepared = PreparedData(config.data.root)
    check_input(prepared, config.data, {s.frames for s in settings})
    pair = (
        val_split,
        training_set(prepared, train_split, config.data, passes, seed),
        evaluation_set(prepared, val_split, config.data),
    )
    best, scores = select(prepared, config.data, [pair], settings)
    return best, {s: v[0] for s, v in scores.items()}


def tested(
    config: ExperimentConfig,
    train_split: str,
    test: str,
    setting: Setting,
    passes: int,
    seed: int,
) -> tuple[float, int, YardstickClassifier] | None:
    """Top-1 (%), windows and the model of ``setting`` fitted on ``train_split``, on split
    ``test``; None
    when that split holds no sample (kept out of the dataset). A test split sharing samples
    with the training split is refused."""
    prepared = PreparedData(config.data.root)
    if train_split == EVERYONE_SPLIT:
        add_crossval_splits(prepared, config, save=False)
    check_input(prepared, config.data, [setting.frames])
    tested_samples = set(prepared.split_indices(test))
    if not tested_samples:
        return None
    shared = tested_samples & set(prepared.split_indices(train_split))
    if shared:
        raise YardstickError(
            f"{prepared.root}: test split {test!r} shares {len(shared)} samples with the "
            f"training split {train_split!r}; give a held-out --test-split"
        )
    model = fitted(
        prepared,
        config.data,
        setting,
        training_set(prepared, train_split, config.data, passes, seed),
    )
    windows = evaluation_set(prepared, test, config.data)
    return scored(model, windows, len(prepared.class_names)), len(windows.y), model


def export_validated(
    config: ExperimentConfig,
    model: YardstickClassifier,
    setting: Setting,
    out: Path,
    target_false_alarm: float,
    decision_rule: str,
) -> dict:
    """The yardstick fitted on the training split as ONNX, its "no action" decision calibrated
    on the config's validation split like a learned model's (export_onnx.py)."""
    prepared = PreparedData(config.data.root)
    info = model_info(config, prepared, setting)
    heldout = None
    if info.background_class and config.data.val_split:
        heldout = calibration_windows(model, prepared, config.data, config.data.val_split)
    return export_yardstick(
        model, info, out, heldout, target_false_alarm, decision_rule, f"`{config.data.val_split}`"
    )
