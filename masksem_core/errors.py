"""The one error family of the library: the scripts turn a ``MaskSemError`` into a one-line
message and its ``exit_code`` (2 unless a subclass says otherwise); anything else is a bug and
keeps its traceback."""

from __future__ import annotations


class MaskSemError(Exception):
    """A problem with the user's input (config, data, checkpoint, model file), not a bug."""

    exit_code = 2


class ConfigError(MaskSemError, ValueError):
    """An experiment config or override that does not fit the typed config tree."""


class DataError(MaskSemError, ValueError):
    """A prepared dataset, split or dataset name that cannot be used as asked."""
