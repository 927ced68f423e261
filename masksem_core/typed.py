"""Frozen dataclasses from and to plain data, strictly: the machinery of the typed config."""

from __future__ import annotations

import dataclasses
import types
import typing

from masksem_core.errors import ConfigError


def setting(default: object, help: str, choices: tuple[str, ...] | None = None) -> object:
    """A config field with its default, a one-line explanation (shown by ``--help``) and, for
    switches, the allowed values."""
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


# -- conversion --------------------------------------------------------------------------------
def _coerce(value: object, kind: object, where: str) -> object:
    """Check ``value`` against the annotation ``kind`` (ints widen to floats, lists to tuples)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        (inner,) = [k for k in options if k is not type(None)]
        return _coerce(value, inner, where)
    if origin is tuple:
        args = typing.get_args(kind)
        if not isinstance(value, list | tuple) or len(value) != len(args):
            raise ConfigError(f"{where} must be a list of {len(args)} values, got {value!r}")
        return tuple(
            _coerce(v, k, f"{where}[{i}]") for i, (v, k) in enumerate(zip(value, args, strict=True))
        )
    if dataclasses.is_dataclass(kind):
        if isinstance(value, kind):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping of settings, got {value!r}")
        if hasattr(kind, "from_dict"):  # a section with its own rules (presets)
            return kind.from_dict(value, where)
        return from_dict(kind, value, where)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is float and isinstance(value, str):
        try:
            return float(value)  # YAML 1.1 reads 5e-4 as a string
        except ValueError:
            pass
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(
            f"{where} must be {getattr(kind, '__name__', kind)}, got {value!r} "
            f"({type(value).__name__})"
        )
    return value


def from_dict(cls: type, values: dict, where: str = "") -> object:
    """Strictly build dataclass ``cls`` from plain data: unknown keys and wrong types are errors
    that name the known fields; missing keys take the field defaults; choices are checked."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where or 'the config'} must be a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(values) - set(known))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown key {prefix}{unknown[0]}; known at this level: {', '.join(known)}"
        )
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        name = f"{where}.{f.name}" if where else f.name
        kwargs[f.name] = _coerce(values[f.name], hints[f.name], name)
    instance = cls(**kwargs)
    check_choices(instance, where)
    return instance


def check_choices(config: object, where: str = "") -> None:
    """Raise ``ConfigError`` for a switch whose value is not one of its field's choices."""
    for f in dataclasses.fields(config):
        choices = f.metadata.get("choices")
        value = getattr(config, f.name)
        if choices and value not in choices:
            name = f"{where}.{f.name}" if where else f.name
            raise ConfigError(f"{name}={value!r} is not one of {', '.join(choices)}")


def to_dict(config: object) -> dict:
    """Plain data (lists for tuples) that ``from_dict`` reads back to an equal config."""

    def plain(value: object) -> object:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, tuple):
            return [plain(v) for v in value]
        return value

    return plain(config)
