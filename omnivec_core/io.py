"""Atomic file writes: every file a run or the app leaves behind (checkpoints, configs, caches) is
written to a temporary name in the same folder, then moved over the old one with os.replace, so a
process killed mid-write leaves the previous complete file."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, write) -> None:
    """Write through `write(temp_path)` to a temporary file in the same folder, then os.replace it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(temp)
        os.chmod(temp, 0o644)  # mkstemp makes owner-only files; a model directory is meant to be shared
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def write_json(path: Path, data) -> None:
    atomic_write(Path(path), lambda temp: Path(temp).write_text(json.dumps(data, indent=2)))
