"""One YAML file per experiment, with ``base:`` inheritance and dotted command-line overrides."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

CONFIG_DIR = Path(__file__).resolve().parents[2] / "training" / "configs"
DEFAULT_CONFIG = "demo"


def resolve_config_path(name_or_path: str | Path) -> Path:
    """A path, or the name of a file in training/configs (``ntu60_xsub`` → …/ntu60_xsub.yaml)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    candidate = CONFIG_DIR / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))
    raise FileNotFoundError(f"no config file {name_or_path!r}; give a path or one of {known}")


def deep_merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(name_or_path: str | Path) -> dict:
    """Read a config; ``base: other`` names a config it extends (resolved like the argument)."""
    path = resolve_config_path(name_or_path)
    content = yaml.safe_load(path.read_text()) or {}
    if not isinstance(content, dict):
        raise ValueError(f"{path}: a config must be a mapping, got {type(content).__name__}")
    base = content.pop("base", None)
    if base is not None:
        base_path = (path.parent / f"{base}.yaml") if not str(base).endswith(".yaml") else base
        content = deep_merge(load_config(base_path), content)
    return content


def parse_value(raw: str) -> object:
    """YAML scalar parsing, plus numbers YAML 1.1 leaves as strings (``5e-4``)."""
    value = yaml.safe_load(raw)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def apply_overrides(config: dict, overrides: list[str]) -> dict:
    """Apply ``key.sub=value`` strings (values parsed as YAML); unknown keys are errors."""
    config = copy.deepcopy(config)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} is not of the form key.sub=value")
        dotted, raw = item.split("=", 1)
        keys = dotted.split(".")
        node = config
        for depth, key in enumerate(keys[:-1]):
            if not isinstance(node.get(key), dict):
                where = ".".join(keys[: depth + 1])
                raise ValueError(
                    f"override {item!r}: {where} is not a section of the config; "
                    f"sections: {sorted(k for k, v in node.items() if isinstance(v, dict))}"
                )
            node = node[key]
        if keys[-1] not in node:
            raise ValueError(
                f"override {item!r}: unknown key {dotted}; known at this level: {sorted(node)}"
            )
        node[keys[-1]] = parse_value(raw)
    return config
