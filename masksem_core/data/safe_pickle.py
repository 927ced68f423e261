"""Annotation pickles are data from the internet, never code: a restricted unpickler that
admits only the containers, numbers, strings and numpy arrays a pyskl annotation holds."""

from __future__ import annotations

import pickle
from pathlib import Path

ALLOWED = {
    ("collections", "OrderedDict"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.dtypes", "Float32DType"),
    ("numpy.dtypes", "Float64DType"),
    ("numpy.dtypes", "Int64DType"),
    ("numpy.dtypes", "Int32DType"),
    ("numpy.dtypes", "Float16DType"),
    ("numpy.dtypes", "UInt8DType"),
}


class ForbiddenGlobal(pickle.UnpicklingError):
    """The pickle refers to something other than plain data."""


class DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        raise ForbiddenGlobal(
            f"it refers to {module}.{name}; an annotation pickle may hold only containers, "
            "numbers, strings and numpy arrays, so it was not loaded (nothing in it ran)"
        )


def load_data_pickle(path: str | Path) -> object:
    """Unpickle ``path`` with ``DataOnlyUnpickler``."""
    with Path(path).open("rb") as handle:
        return DataOnlyUnpickler(handle).load()
