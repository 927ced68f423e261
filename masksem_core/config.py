"""The typed experiment config: frozen dataclasses, strict ``from_dict``, YAML files, overrides.

One YAML file per experiment (shipped in ``masksem_core/configs``; ``base: NAME`` extends another
file by name or path) and dotted command-line overrides (``pretrain.lr=5e-4``) are merged as plain
data, then converted once into an :class:`ExperimentConfig`. Every key is a dataclass field: an
unknown key or a wrong type is a :class:`ConfigError` naming the known fields. Checkpoints store
``to_dict()`` and read it back through the same validation.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from masksem_core.errors import ConfigError
from masksem_core.pretraining.config import PRESETS, MaskSemConfig
from masksem_core.typed import from_dict, setting, to_dict
from masksem_core.window_spec import WINDOW_MODES
from masksem_core.windows import MIN_LENGTH, TEST_RATIO, TRAIN_RATIO_RANGE, WINDOW

DEFAULT_CONFIG = "demo"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
HEADS = ("mlp", "pooled_mlp")


@dataclass(frozen=True)
class DataConfig:
    dataset: str = setting("demo", "dataset the prepared folder holds (informational)")
    root: str = setting(
        "data/prepared/demo",
        "prepared dataset folder (python training/prepare_data.py; the demo is generated)",
    )
    train_split: str = setting("xsub_train", "split of splits.json used for training")
    test_split: str = setting("xsub_test", "split used for evaluation")
    window: int = setting(WINDOW, "frames per window after crop + resize (paper: 120)")
    train_crop: tuple[float, float] = setting(
        TRAIN_RATIO_RANGE, "training crop: ratio p ~ U[low, high] of the valid frames (MAMP)"
    )
    test_crop: float = setting(
        TEST_RATIO, "evaluation: centre crop of this ratio of the valid frames"
    )
    min_crop_frames: int = setting(MIN_LENGTH, "a crop keeps at least this many frames (MAMP: 64)")
    rotation: tuple[float, float, float] = setting(
        (0.3, 0.3, 0.3),
        "training augmentation: random rotation, max angle about x, y, z (rad; MAMP: 0.3; 0: off)",
    )
    mirror: float = setting(
        0.0,
        "training augmentation: probability of the mirror image (x negated, left and right "
        "joints swapped: the same action done by the other hand; 0: off, the paper)",
    )
    tempo: tuple[float, float] = setting(
        (1.0, 1.0),
        "stream mode, training: the timeline played at a speed ~ U[low, high] (people act "
        "faster or slower than the training subjects; 1 1: off)",
    )
    normalise_view: bool = setting(
        False,
        "rotate each window so that its first frame's hip line lies along x and its spine "
        "along y (a body-centred view, whatever the camera position)",
    )
    normalise_scale: bool = setting(
        False, "divide each window by its first frame's torso length (hips to shoulders)"
    )
    window_mode: str = setting(
        "clip",
        "clip: each trimmed action cropped and resized to the window (the paper's protocol) | "
        "stream: a fixed stretch of the stream's timeline as the live recognizer sees it",
        WINDOW_MODES,
    )
    window_seconds: float = setting(3.0, "stream mode: seconds of timeline one window covers")
    background_fraction: float = setting(
        0.25,
        "stream mode: share of training windows in which no action happens, class 'no action' "
        "(0: no such class)",
    )
    context_fraction: float = setting(
        0.0,
        "stream mode: share of training actions chained between two other actions of the split "
        "(back to back, as a person goes from one task to the next) instead of standing still",
    )
    min_visible_seconds: float = setting(
        0.4, "stream mode: an action is named once this much of it (or half of it) is in view"
    )
    tail_seconds: float = setting(0.5, "stream mode: … and until this long after it ended")
    val_split: str | None = setting(
        None, "split for calibration and settings (never the test split); null: none"
    )
    num_workers: int = setting(8, "DataLoader worker processes (0: in the main process)")
    demo_samples_per_class: int = setting(60, "size of the generated demo set")


@dataclass(frozen=True)
class ModelConfig:
    dim: int = setting(256, "encoder width D")
    depth: int = setting(8, "encoder blocks")
    heads: int = setting(8, "encoder attention heads")
    mlp_dim: int = setting(1024, "encoder MLP width")
    segment_length: int = setting(4, "frames per token l")
    decoder_dim: int = setting(256, "decoder width")
    decoder_depth: int = setting(3, "decoder blocks (5 in MAMP's NTU-120/PKU configs)")
    decoder_heads: int = setting(8, "decoder attention heads")
    decoder_mlp_dim: int = setting(1024, "decoder MLP width")
    weight_init: str = setting(
        "xavier",
        "xavier: MAMP (xavier-uniform linears, default joint embedding) | trunc_normal: MAE",
        ("xavier", "trunc_normal"),
    )


@dataclass(frozen=True)
class PretrainConfig:
    epochs: int = setting(400, "pretraining epochs (0: save the initial weights)")
    batch_size: int = setting(128, "total batch over all processes")
    lr: float = setting(1e-3, "peak AdamW learning rate")
    min_lr: float = setting(5e-4, "learning rate at the end of the cosine")
    warmup_epochs: int = setting(20, "linear warm-up epochs")
    weight_decay: float = setting(0.05, "AdamW weight decay (none on biases, norms, embeddings)")
    betas: tuple[float, float] = setting((0.9, 0.95), "AdamW betas")
    clip_grad: float | None = setting(None, "gradient-norm clipping (null: off)")
    init: str | None = setting(
        None, "start from another pretraining checkpoint (two-stage MaskSem), fresh optimiser"
    )
    then_linear_eval: bool = setting(False, "run the linear probe after pretraining")
    window_mode: str = setting(
        "data",
        "windows pretraining learns from: data (data.window_mode) | clip | stream. A stream "
        "model can pretrain on clip windows: its stream windows are mostly a standing person, "
        "whose masked motion is noise the objective cannot predict",
        ("data", *WINDOW_MODES),
    )


@dataclass(frozen=True)
class LinearConfig:
    epochs: int = setting(100, "linear-probe epochs (paper: 100)")
    batch_size: int = setting(256, "probe batch")
    lr: float = setting(0.1, "SGD learning rate (cosine)")
    min_lr: float = setting(0.0, "learning rate at the end of the cosine")
    warmup_epochs: int = setting(0, "warm-up epochs")
    momentum: float = setting(0.9, "SGD momentum")
    weight_decay: float = setting(0.0, "SGD weight decay")
    cache_features: bool = setting(
        True, "train the head on cached frozen features (the same computation, much cheaper)"
    )
    feature_draws: int = setting(
        10, "augmentation draws cached; epoch e uses draw e mod feature_draws (= epochs: online)"
    )
    init: str | None = setting(None, "pretraining checkpoint to probe")


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = setting(100, "fine-tuning epochs")
    batch_size: int = setting(48, "total batch")
    lr: float = setting(3e-4, "peak AdamW learning rate")
    min_lr: float = setting(1e-5, "learning rate at the end of the cosine")
    warmup_epochs: int = setting(5, "linear warm-up epochs")
    weight_decay: float = setting(0.05, "AdamW weight decay")
    betas: tuple[float, float] = setting((0.9, 0.999), "AdamW betas")
    layer_decay: float = setting(0.8, "layer-wise learning-rate decay")
    drop_path: float = setting(0.3, "stochastic depth of the encoder")
    head: str = setting(
        "mlp", "mlp: MAMP's head (mean over T, V·D → 2048 → BN → ReLU) | pooled_mlp", HEADS
    )
    head_dropout: float = setting(0.3, "dropout before the head (MAMP: 0.3)")
    label_smoothing: float = setting(0.1, "cross-entropy label smoothing")
    clip_grad: float | None = setting(None, "gradient-norm clipping (null: off)")
    label_fraction: float | None = setting(
        None, "semi-supervised: fine-tune on this class-stratified fraction (0.01, 0.1)"
    )
    label_seed: int = setting(0, "seed of the label-fraction subset")
    init: str | None = setting(None, "pretrained checkpoint (transfer: another dataset's)")


@dataclass(frozen=True)
class ExperimentConfig:
    experiment: str = setting("demo", "name of the experiment")
    output_dir: str = setting("runs/demo", "run folder: <output_dir>/<stage>/last.pt, summary.json")
    seed: int = setting(0, "seed of the initial weights, data order, augmentation and masking")
    precision: str = setting(
        "auto", "autocast (auto: bf16 on GPUs that support it, else fp32)", PRECISIONS
    )
    threads: int = setting(0, "torch CPU threads (0: torch's default)")
    log_every: int = setting(20, "TensorBoard scalars every N iterations")
    eval_batch_size: int = setting(256, "batch of evaluation and feature encoding")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    pretraining: MaskSemConfig = field(default_factory=MaskSemConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    linear: LinearConfig = field(default_factory=LinearConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

    @classmethod
    def from_dict(cls, values: dict, where: str = "") -> ExperimentConfig:
        return from_dict(cls, values, where)

    def to_dict(self) -> dict:
        return to_dict(self)


# -- files and overrides -----------------------------------------------------------------------
def shipped_configs() -> dict[str, Path]:
    """Name → path of the experiment YAMLs shipped with the package."""
    folder = resources.files("masksem_core") / "configs"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def resolve_config_path(name_or_path: str | Path, relative_to: Path | None = None) -> Path:
    """A shipped config's name (``ntu60_xsub``) or a YAML path (absolute, relative to the
    current folder, or to ``relative_to``)."""
    shipped = shipped_configs()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    candidates = [Path(name_or_path)]
    if relative_to is not None:
        candidates.append(relative_to / name_or_path)
    for path in candidates:
        if path.is_file():
            return path
    raise ConfigError(
        f"no config file {str(name_or_path)!r}: neither a shipped config "
        f"({', '.join(sorted(shipped))}) nor an existing YAML path"
    )


def deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config_data(name_or_path: str | Path, relative_to: Path | None = None) -> dict:
    """The merged plain data of a YAML file and the chain of files it extends (``base:``)."""
    path = resolve_config_path(name_or_path, relative_to)
    try:
        content = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: a config must be a mapping, got {type(content).__name__}")
    base = content.pop("base", None)
    if base is not None:
        content = deep_merge(load_config_data(base, path.parent), content)
    return content


def parse_value(raw: str) -> object:
    """YAML scalar parsing (``true``, ``null``, ``[0.9, 0.95]``, ``5e-4``)."""
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise ConfigError(f"cannot parse {raw!r} as a value: {err}") from None


def apply_overrides(data: dict, overrides: list[str] | tuple[str, ...]) -> dict:
    """Set ``key.sub=value`` items in plain config data; every key must be a field of the typed
    tree (a typo names the known fields)."""
    data = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key.sub=value")
        dotted, raw = item.split("=", 1)
        keys = dotted.split(".")
        cls: type | None = ExperimentConfig
        node = data
        for depth, key in enumerate(keys):
            where = ".".join(keys[:depth])
            known = [f.name for f in dataclasses.fields(cls)] if cls else []
            if cls is MaskSemConfig:
                known = ["preset", *known]
            if key not in known:
                level = f" of {where}" if where else ""
                listed = ", ".join(known) if known else f"(none: {where} is a value)"
                raise ConfigError(
                    f"override {item!r}: unknown key {dotted}{nearest_key(dotted)}; known "
                    f"keys{level}: {listed}"
                )
            kind = typing.get_type_hints(cls).get(key) if key != "preset" else str
            if depth == len(keys) - 1:
                if dataclasses.is_dataclass(kind):
                    raise ConfigError(
                        f"override {item!r}: {dotted} is a section; set one of its keys"
                    )
                node[key] = parse_value(raw)
            else:
                cls = kind if dataclasses.is_dataclass(kind) else None
                node = node.setdefault(key, {})
    return data


def dotted_keys(cls: type = ExperimentConfig, prefix: str = "") -> list[str]:
    """Every settable key of the typed tree, dotted (``pretrain.epochs``)."""
    keys = [f"{prefix}preset"] if cls is MaskSemConfig else []
    for f in dataclasses.fields(cls):
        kind = typing.get_type_hints(cls)[f.name]
        if dataclasses.is_dataclass(kind):
            keys += dotted_keys(kind, f"{prefix}{f.name}.")
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def nearest_key(dotted: str) -> str:
    """``"; did you mean pretrain.epochs?"`` for a misspelt key, else ``""``."""
    close = difflib.get_close_matches(dotted, dotted_keys(), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def load_experiment(
    name_or_path: str | Path = DEFAULT_CONFIG, overrides: list[str] | tuple[str, ...] = ()
) -> ExperimentConfig:
    """Read a config (by shipped name or path), apply overrides, validate, return it typed."""
    return ExperimentConfig.from_dict(apply_overrides(load_config_data(name_or_path), overrides))


def describe(config: object | None = None, prefix: str = "") -> list[str]:
    """One line per setting: ``section.key = value  help [choices]``, the values those of
    ``config`` (a config or one of its sections; default: the built-in defaults)."""
    config = ExperimentConfig() if config is None else config
    lines = []
    for f in dataclasses.fields(config):
        name = f"{prefix}{f.name}"
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            lines.append(f"{name}:")
            if isinstance(value, MaskSemConfig):
                lines.append(
                    f"  {name}.preset = masksem  start from a preset: {', '.join(PRESETS)}"
                )
            lines += ["  " + line for line in describe(value, f"{name}.")]
            continue
        choices = f.metadata.get("choices")
        suffix = f" [{' | '.join(choices)}]" if choices else ""
        plain = to_dict(value) if isinstance(value, tuple) else value
        shown = yaml.safe_dump(plain, default_flow_style=True, width=1000).strip()
        shown = shown.removesuffix("\n...").removesuffix("...").strip()
        lines.append(f"{name} = {shown}  {f.metadata.get('help', '')}{suffix}")
    return lines


def describe_presets() -> list[str]:
    """The presets of ``pretraining.preset``: the switches each one sets."""
    lines = []
    for name, values in PRESETS.items():
        switches = ", ".join(f"{k}={v}" for k, v in values.items()) or "the paper's defaults"
        lines.append(f"  {name:<30} {switches}")
    return lines
