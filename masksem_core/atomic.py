"""The one way files are written: to a per-process temporary name beside the target, flushed to
disk, then renamed over it, so a crash or a kill leaves either the old file or the new one."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write ``path`` through; on success it is fsynced and renamed
    over ``path``, on failure removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | Path, content: object, indent: int | None = 2) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(content, indent=indent) + "\n")
    return Path(path)
