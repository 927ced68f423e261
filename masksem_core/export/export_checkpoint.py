"""From a classifier checkpoint to a checked ONNX file (used by training/export_onnx.py)."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from masksem_core.config import DataConfig, ExperimentConfig
from masksem_core.data.prepared import PreparedData
from masksem_core.data.stream import BACKGROUND
from masksem_core.engine.builders import (
    build_classifier,
    evaluation_windows,
    stream_windows,
    window_spec,
)
from masksem_core.engine.checkpoint import (
    CheckpointError,
    checkpoint_config,
    load_checkpoint,
    load_state_strict,
)
from masksem_core.engine.summary import RunSummary
from masksem_core.export.calibration import (
    MIN_ACTION_RECALL,
    Calibration,
    CalibrationError,
    CurvePoint,
    HeldOutWindows,
    curve_table,
)
from masksem_core.export.onnx_export import check_parity, export_classifier
from masksem_core.export.quantise import quantise_dynamic_int8
from masksem_core.model import ActionClassifier
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.runtime.session import ActionSession
from masksem_core.skeleton import get_layout
from masksem_core.window_spec import WindowSpec


def classifier_from_checkpoint(path: str | Path) -> tuple[ActionClassifier, dict]:
    """Rebuild the encoder + head of a linear-eval or fine-tune checkpoint."""
    state = load_checkpoint(path)
    if state.get("stage") not in ("linear", "finetune"):
        raise CheckpointError(
            f"{path} is a {state.get('stage')!r} checkpoint; export needs a "
            "classifier from training/linear_eval.py or training/finetune.py"
        )
    config = checkpoint_config(state, path)
    layout = get_layout(state["layout"])
    model = build_classifier(
        config.model,
        layout.num_joints,
        config.data.window,
        len(state["class_names"]),
        head=state["head"],
    )
    load_state_strict(model, state["model"], f"checkpoint {path}")
    return model.eval(), state


def real_windows(
    data_root: str | Path, split: str, count: int, data_cfg: DataConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``count`` evaluation windows (B, M, T, V, C) and labels of a split."""
    dataset = evaluation_windows(PreparedData(data_root), split, data_cfg)
    picks = np.linspace(0, len(dataset) - 1, min(count, len(dataset))).astype(int)
    items = [dataset[int(i)] for i in picks]
    return np.stack([x.numpy() for x, _ in items]), np.array([y for _, y in items])


CROSSVAL_SOURCE = "the held-out subjects of a leave-one-subject-out cross-validation"
CALIBRATION_IDLE_WINDOWS = 16  # per validation action: a 2 % rate is ≥ 16 windows on GTU


def calibration_windows(
    model: ActionClassifier, prepared: PreparedData, data: DataConfig, split: str
) -> HeldOutWindows:
    """The model's logits on a split's calibration windows: each action's stream window, and
    ``CALIBRATION_IDLE_WINDOWS`` idle windows per action; with each window's subject."""
    windows = stream_windows(
        prepared, split, data, train=False, idle_windows=CALIBRATION_IDLE_WINDOWS
    )
    logits, labels = [], []
    with torch.no_grad():
        for start in range(0, len(windows), 64):
            batch = [windows[i] for i in range(start, min(start + 64, len(windows)))]
            logits.append(model.eval()(torch.stack([x for x, _ in batch])).numpy())
            labels += [y for _, y in batch]
    samples = [prepared.samples[index] for index, *_ in windows.items]
    subjects = [str(s["extra"].get("subject", "")) for s in samples]
    return HeldOutWindows(
        np.concatenate(logits),
        np.array(labels),
        np.array([subjects[i % len(subjects)] for i in range(len(windows))]),
    )


def calibrate_on(
    model: ActionClassifier,
    prepared: PreparedData,
    data: DataConfig,
    target_false_alarm: float,
    decision_rule: str,
) -> Calibration:
    """Calibrate ``decision_rule`` on the validation split's calibration windows. A split of
    recordings that names a single subject is refused: a threshold chosen on one person does
    not hold on others."""
    subjects = split_subjects(prepared, data.val_split)
    if len(subjects) == 1:
        raise CalibrationError(
            f"the calibration split {data.val_split!r} of {prepared.root} holds one subject "
            f"({subjects[0]}): prepare the data with at least two --val-subjects, or choose the "
            "threshold by leave-one-subject-out cross-validation (training/crossval.py), so "
            "that it is chosen on more than one person"
        )
    windows = calibration_windows(model, prepared, data, data.val_split)
    calibration = windows.calibrate(target_false_alarm, decision_rule, f"`{data.val_split}`")
    return replace(calibration, subjects=len(subjects))


def split_subjects(prepared: PreparedData, split: str) -> list[str]:
    """The subjects a split's recordings name (empty when the dataset names none)."""
    named = {
        str(prepared.samples[i]["extra"]["subject"])
        for i in prepared.split_indices(split)
        if "subject" in prepared.samples[i]["extra"]
    }
    return sorted(named)


def check_calibration(calibration: Calibration, accept_low_recall: bool) -> str:
    """Refuse a calibration that names (almost) no action (fewer than ``MIN_ACTION_RECALL`` of
    the validation actions right), printing the curve to choose another point from; with
    ``accept_low_recall`` the warning is returned instead, to be shown loudly."""
    if calibration.action_recall >= MIN_ACTION_RECALL:
        return ""
    problem = (
        f"at {calibration.target_false_alarm:.1%} idle false alarms the calibration names only "
        f"{calibration.action_recall:.1%} of the validation actions right (threshold "
        f"{calibration.threshold:.3f}); the model would stay silent while people act"
    )
    if accept_low_recall:
        return problem
    raise CalibrationError(
        problem
        + ". The detection / false-alarm curve on the validation windows:\n"
        + "\n".join(curve_table(calibration.curve))
        + "\nChoose another point with --target-false-alarm RATE, improve the model, or export "
        "anyway with --accept-low-recall (marked in the output and the model card)"
    )


def model_info(
    state: dict, config: ExperimentConfig, prepared: PreparedData, source: str
) -> ModelInfo:
    """What the ONNX file says about the model: classes, its window specification, the body
    count of its training data, its "no action" class and where its encoder started."""
    return ModelInfo(
        class_names=tuple(state["class_names"]),
        window_spec=window_spec(config.data, prepared),
        segment_length=config.model.segment_length,
        dataset=config.data.dataset,
        experiment=config.experiment,
        init=state.get("init") or "scratch",
        source_checkpoint=source,
        bodies=int(prepared.meta["record_shape"][0]),
        background_class=BACKGROUND if BACKGROUND in state["class_names"] else "",
    )


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    data_root: str | Path | None = None,
    split: str | None = None,
    parity_windows: int = 16,
    int8: bool = False,
    attention: str = "standard",
    target_false_alarm: float = 0.02,
    decision_rule: str = "action_mass",
    accept_low_recall: bool = False,
    heldout: HeldOutWindows | None = None,
) -> dict:
    """Export, then check parity on random and real windows; optionally add an int8 variant.
    ``attention`` as in :func:`export_classifier`. A stream-mode model with a "no action" class
    and a ``data.val_split`` is calibrated on that split first (temperature, and the threshold
    at which ``decision_rule`` names an action in at most ``target_false_alarm`` of its idle
    windows), or on ``heldout``, the pooled held-out windows of a leave-one-subject-out
    cross-validation (training/crossval.py); a calibration that names (almost) no action is
    refused unless ``accept_low_recall``, and then marked."""
    model, state = classifier_from_checkpoint(checkpoint)
    config = checkpoint_config(state, checkpoint)
    data = config.data
    prepared = PreparedData(data_root or data.root)
    info = model_info(state, config, prepared, Path(checkpoint).name)
    report: dict = {}
    if heldout is not None:
        if not info.background_class or heldout.logits.shape[1] != len(info.class_names):
            raise CalibrationError(
                f"the held-out windows score {heldout.logits.shape[1]} classes; {checkpoint} "
                f"has {len(info.class_names)} and must be a stream-mode model with a 'no action' "
                "class of the same cross-validation"
            )
    if info.window_spec.mode == "stream" and info.background_class and (heldout or data.val_split):
        calibration = (
            heldout.calibrate(target_false_alarm, decision_rule, CROSSVAL_SOURCE)
            if heldout is not None
            else calibrate_on(model, prepared, data, target_false_alarm, decision_rule)
        )
        report["calibration"] = asdict(calibration)
        warning = check_calibration(calibration, accept_low_recall)
        if warning:
            report["calibration_warning"] = warning
        info = replace(
            info,
            temperature=calibration.temperature,
            score_threshold=calibration.threshold,
            decision_rule=decision_rule,
        )
    out = export_classifier(model, out, info, attention=attention)
    session = ActionSession(out)
    enc = model.encoder
    rng = np.random.default_rng(0)
    random = (rng.normal(size=(4, 2, enc.window, enc.num_joints, enc.in_channels)) * 0.3).astype(
        np.float32
    )
    report.update(onnx=str(out), attention=attention, random=check_parity(model, session, random))
    windows, labels = real_windows(
        data_root or config.data.root, split or config.data.test_split, parity_windows, config.data
    )
    report["real"] = check_parity(model, session, windows)
    fp32_pred = session.logits(windows).argmax(1)
    report["real"]["accuracy"] = float((fp32_pred == labels).mean())
    if int8:
        int8_path = quantise_dynamic_int8(out, Path(out).with_suffix(".int8.onnx"))
        int8_pred = ActionSession(int8_path).logits(windows).argmax(1)
        report["int8"] = {
            "onnx": str(int8_path),
            "agreement_with_fp32": float((int8_pred == fp32_pred).mean()),
            "accuracy": float((int8_pred == labels).mean()),
        }
    with torch.no_grad():
        report["parameters"] = sum(p.numel() for p in model.parameters())
    return report


def limitations(prepared: PreparedData, train_size: int) -> str:
    """What the training data implies for use, from the prepared dataset's own metadata."""
    meta = prepared.meta
    bodies = prepared.data.shape[1]
    text = (
        f"Trained on {train_size} {meta['layout']} sequences of `{meta['dataset']}`"
        + (" (synthetic demo data: not for real use)" if meta.get("synthetic") else "")
        + f", at most {bodies} bod{'y' if bodies == 1 else 'ies'} per sample. Expect lower "
        "accuracy on skeletons from another sensor or pose estimator (e.g. MediaPipe: other "
        "joint definitions and noise) and on people, actions or viewpoints unlike the "
        "training data's. Use the recognizer's score threshold to abstain."
    )
    return text


def window_line(data: DataConfig, spec: WindowSpec, report: dict) -> str:
    """What the model's windows are (its window specification) and how its "no action"
    decision was calibrated."""
    line = f"- **Windows**: {spec.describe()}, in training and in the recognizer alike."
    if spec.mode == "clip":
        return line + " The recognizer classifies its last `window_seconds` (4 s unless set)."
    line += (
        f" A `no action` class trained on idle windows ({data.background_fraction:.0%} of "
        "training windows)."
    )
    if data.context_fraction:
        line += (
            f" {data.context_fraction:.0%} of the training actions were chained between two "
            "other actions of the split (back to back) instead of a person standing still."
        )
    calibration = report.get("calibration")
    if calibration:
        line += (
            f" Calibrated on {calibration.get('source') or data.val_split} "
            f"({calibration['windows']} windows): temperature "
            f"{calibration['temperature']:.2f}, decision rule `{calibration['decision_rule']}`, "
            f"threshold {calibration['threshold']:.3f} for at "
            f"most {calibration['target_false_alarm']:.0%} idle false alarms (there "
            f"{calibration['idle_false_alarm']:.1%}, actions named right "
            f"{calibration['action_recall']:.1%})."
        )
    return line


def calibration_section(report: dict) -> list[str]:
    """The detection / false-alarm curve the threshold was chosen from, how to pick another
    point, and the warning of a calibration accepted although it names (almost) no action."""
    calibration = report.get("calibration")
    if not calibration:
        return []
    curve = tuple(CurvePoint(**point) for point in calibration["curve"])
    lines = ["## Calibration", ""]
    if report.get("calibration_warning"):
        lines += [
            f"**WARNING — exported with --accept-low-recall: {report['calibration_warning']}.**",
            "",
        ]
    subjects = calibration.get("subjects") or "unnamed"
    lines += [
        f"Chosen on {calibration['windows']} windows of {calibration.get('source') or 'validation'}"
        f" ({subjects} subjects pooled); "
        "another point of this curve is one `score_threshold` parameter away on the robot "
        "(or `--target-false-alarm` at export):",
        "",
        *curve_table(curve),
        "",
    ]
    return lines


def export_checks(report: dict, split: str) -> list[str]:
    """The model card's lines on parity (on real windows of ``split``), size, attention kernel
    and the int8 variant."""
    real = report["real"]
    attention = (
        "fused (ONNX Runtime's MultiHeadAttention, ONNX Runtime only)."
        if report.get("attention") == "fused"
        else "standard ONNX MatMul/Softmax."
    )
    lines = [
        f"- **Export checks**: parity with PyTorch on {real['windows']} real windows of "
        f"`{split}`, max "
        f"|Δlogit| {real['max_abs_diff']:.1e}, same argmax {real['same_argmax']}; "
        f"{report['parameters']:,} parameters; attention: {attention}"
    ]
    if "int8" in report:
        lines.append(
            f"- **int8 variant** `{Path(report['int8']['onnx']).name}`: argmax "
            f"agreement with fp32 {100 * report['int8']['agreement_with_fp32']:.1f} % "
            f"on the same windows."
        )
    return lines


def accuracy_line(data: DataConfig, top1: float, top5: float, windows: int | None) -> str:
    """The card's accuracy: on the test split, or, for a model trained on every subject of a
    cross-validation, on its own training windows, said to be a fit and not a test."""
    if data.test_split == data.train_split:
        return (
            f"- **Accuracy on its own training windows (a fit, not a test: trained on every "
            f"subject; the cross-validation's held-out numbers are the estimate)**: top-1 "
            f"{top1:.2f} %, top-5 {top5:.2f} % on {windows} windows."
        )
    return (
        f"- **Test accuracy (last epoch, not selected on test)**: top-1 "
        f"{top1:.2f} %, top-5 {top5:.2f} % on {windows} windows."
    )


def write_model_card(report: dict, checkpoint: str | Path, out: str | Path) -> Path:
    """A Markdown model card beside the ONNX file: data, split, config, accuracy, checks."""
    import yaml

    state = load_checkpoint(checkpoint)
    config = checkpoint_config(state, checkpoint)
    summary = RunSummary.read(Path(checkpoint).parent)
    last = summary.last_epoch
    prepared = PreparedData(config.data.root)
    sizes = {
        name: len(prepared.splits[name])
        for name in (config.data.train_split, config.data.test_split)
    }
    lines = [
        f"# Model card: {Path(report['onnx']).name}",
        "",
        f"- **Task**: skeleton-based action recognition, {len(state['class_names'])} classes, "
        f"layout `{state['layout']}` (joints in that order, metres, NTU camera axes).",
        f"- **Input** `skeleton` (B, M, {config.data.window}, V, 3) float32 → **output** "
        "`logits` (B, classes); B and M dynamic. The input window is the metadata field "
        "`window_spec` (`masksem_core.window_spec.WindowSpec`: `from_timeline` for a live "
        "stream, `from_clip` for a trimmed clip).",
        window_line(config.data, window_spec(config.data, prepared), report),
        f"- **Training data**: `{config.data.dataset}` (`{config.data.root}`), "
        f"split `{config.data.train_split}` ({sizes[config.data.train_split]} "
        f"samples) / `{config.data.test_split}` "
        f"({sizes[config.data.test_split]} samples).",
        f"- **Training**: pretraining objective masking={config.pretraining.masking}, "
        f"target={config.pretraining.target}, loss weighting "
        f"{config.pretraining.loss_weighting}; then "
        f"{state['stage']} for {state['epoch']} epochs; "
        + (f"pretrained checkpoint `{state['init']}`." if state.get("init") else "from scratch.")
        + (
            " **Its input differs from the encoder's pretraining (allowed with "
            f"--allow-input-mismatch): {'; '.join(state['input_mismatch'])}.**"
            if state.get("input_mismatch")
            else ""
        ),
        accuracy_line(config.data, last.top1, last.top5, summary.test_samples),
        *export_checks(report, config.data.test_split),
        "",
        "",
        *calibration_section(report),
        "## Classes",
        "",
        ", ".join(f"{i}: {n}" for i, n in enumerate(state["class_names"])),
        "",
        "## Configuration",
        "",
        "```yaml",
        yaml.safe_dump(
            {k: config.to_dict()[k] for k in ("model", "pretraining", "data")}, sort_keys=False
        ).rstrip(),
        "```",
        "",
        "## Limitations",
        "",
        limitations(prepared, sizes[config.data.train_split]),
        "",
    ]
    out = Path(out)
    out.write_text("\n".join(lines))
    return out
