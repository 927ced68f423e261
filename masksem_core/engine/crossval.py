"""Leave-one-subject-out cross-validation of a stream-mode recipe on a few people.

The subjects are those of the config's training and validation splits (never its test split).
For each, a fold model is fine-tuned on every other subject and scores the subject it never
saw: its calibration windows (``heldout.npz``) and, exported with the threshold chosen on the
*other* folds' held-out windows, its live streams (training/evaluate_stream.py --crossval).
One more model, trained on all of them, is what ships; it is calibrated on every fold's
held-out windows pooled (training/export_onnx.py --heldout). Layout of ``<output_dir>/crossval``:
``subject_<name>/finetune/`` per fold (its ``heldout.npz`` and ``model.onnx`` beside), ``all/``
the model of everyone, ``heldout.npz`` the pool and ``folds.json`` the index.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from masksem_core.atomic import write_json_atomic
from masksem_core.config import ExperimentConfig
from masksem_core.data.prepared import PreparedData
from masksem_core.errors import DataError

CROSSVAL_FOLDER = "crossval"
EVERYONE_SPLIT = "crossval_all"
HELDOUT_FILE = "heldout.npz"
FOLD_MODEL = "model.onnx"
FOLDS_FILE = "folds.json"


def subject_of(prepared: PreparedData, index: int) -> str | None:
    """The subject a prepared sample names (None when it names none)."""
    subject = prepared.samples[index]["extra"].get("subject")
    return None if subject is None else str(subject)


def crossval_subjects(prepared: PreparedData, config: ExperimentConfig) -> list[str]:
    """The subjects of the config's training and validation splits: one fold each. At least
    three, so that every fold's threshold is chosen on two other people."""
    data = config.data
    splits = [data.train_split, *([data.val_split] if data.val_split else [])]
    indices = [i for split in splits for i in prepared.split_indices(split)]
    unnamed = [prepared.samples[i]["name"] for i in indices if subject_of(prepared, i) is None]
    if unnamed:
        raise DataError(
            f"{prepared.root}: cross-validation leaves one subject out, but "
            f"{', '.join(unnamed[:3])} name no subject; prepare recordings with their subjects "
            "(README: your own continuous recordings)"
        )
    subjects = sorted({subject_of(prepared, i) for i in indices}, key=natural_key)
    if len(subjects) < 3:
        raise DataError(
            f"{prepared.root}: splits {', '.join(splits)} hold {len(subjects)} subject(s) "
            f"({', '.join(subjects)}); leave-one-subject-out needs at least 3"
        )
    return subjects


def natural_key(name: str) -> tuple[int, int | str]:
    """Subjects in numeric order where they are numbers ("2" before "10"), then by name."""
    return (0, int(name)) if name.isdigit() else (1, name)


def without_split(subject: str) -> str:
    return f"crossval_without_{subject}"


def subject_split(subject: str) -> str:
    return f"subject_{subject}"


def add_crossval_splits(
    prepared: PreparedData, config: ExperimentConfig, save: bool = True
) -> list[str]:
    """Write the folds' splits into the prepared dataset's splits.json (``save``): everyone of
    the training and validation splits, everyone but each subject, and each subject alone
    where the preparation did not. → the subjects."""
    subjects = crossval_subjects(prepared, config)
    data = config.data
    splits = [data.train_split, *([data.val_split] if data.val_split else [])]
    everyone = sorted({i for split in splits for i in prepared.split_indices(split)})
    prepared.splits[EVERYONE_SPLIT] = everyone
    for subject in subjects:
        mine = [i for i in everyone if subject_of(prepared, i) == subject]
        prepared.splits[without_split(subject)] = [i for i in everyone if i not in mine]
        prepared.splits.setdefault(subject_split(subject), mine)
        if prepared.splits[subject_split(subject)] != mine:
            raise DataError(
                f"{prepared.root}: split {subject_split(subject)} is not subject {subject}'s "
                "recordings; prepare the data again"
            )
    if save:
        write_json_atomic(prepared.root / "splits.json", prepared.splits)
    return subjects


def crossval_dir(config: ExperimentConfig) -> Path:
    return Path(config.output_dir) / CROSSVAL_FOLDER


def fold_config(config: ExperimentConfig, subject: str) -> ExperimentConfig:
    """The fold that leaves ``subject`` out: trained on everyone else, evaluated on them."""
    data = replace(
        config.data,
        train_split=without_split(subject),
        val_split=subject_split(subject),
        test_split=subject_split(subject),
    )
    out = crossval_dir(config) / subject_split(subject)
    return replace(config, data=data, output_dir=str(out))


def everyone_config(config: ExperimentConfig) -> ExperimentConfig:
    """The model that ships: trained on every subject of the folds. Its per-epoch accuracy is
    on its own training subjects (a fit, not a test); it has no validation split, its
    calibration comes from the folds' held-out windows."""
    data = replace(
        config.data, train_split=EVERYONE_SPLIT, val_split=None, test_split=EVERYONE_SPLIT
    )
    return replace(config, data=data, output_dir=str(crossval_dir(config) / "all"))


def write_index(
    config: ExperimentConfig,
    subjects: list[str],
    init: str | None,
    target_false_alarm: float | None = None,
    everyone: Path | None = None,
) -> Path:
    """``folds.json``: which subject each fold leaves out, its split, its ONNX model, the idle
    false-alarm rate its threshold was chosen for on the other folds, and the model of
    everyone (``everyone``, default its fine-tuning checkpoint; what evaluate_stream
    --crossval and the README read)."""
    root = crossval_dir(config)
    index = {
        "experiment": config.experiment,
        "data": config.data.root,
        "init": init or "scratch",
        "target_false_alarm": target_false_alarm,
        "subjects": subjects,
        "folds": [
            {
                "subject": s,
                "split": subject_split(s),
                "model": str(Path(fold_config(config, s).output_dir) / FOLD_MODEL),
            }
            for s in subjects
        ],
        "everyone": str(
            everyone or Path(everyone_config(config).output_dir) / "finetune" / "last.pt"
        ),
        "heldout": str(root / HELDOUT_FILE),
    }
    write_json_atomic(root / FOLDS_FILE, index)
    return root / FOLDS_FILE
