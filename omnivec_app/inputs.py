"""Uploads enter here: only from the folders this app may read, always through the core readers, and
turned into a modality's input by its registry entry."""
from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from omnivec_core.data import readers
from omnivec_core.data.readers.common import extension
from omnivec_core.modalities import REGISTRY

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def allowed_roots() -> list[Path]:
    """Gradio's upload folder (under the temp dir) and the bundled examples; nothing else."""
    return [Path(tempfile.gettempdir()).resolve(), ASSETS]


def read_upload(path: str, kind: str | None = None, source: str = "") -> readers.Loaded:
    """Read any supported file (its content decides its kind, or `kind` where its extension may hold
    several); a bad file becomes a clear gr.Error, which names `source` (such as "your recording") when given,
    since the file's own name is then one Gradio chose."""
    try:
        return readers.read_any(path, allowed_roots=allowed_roots(), kind=kind)
    except readers.MediaError as error:
        raise gr.Error(f"{source}: {error}" if source else str(error)) from None


def load_upload(path: str, modality: str) -> tuple[object, list[str]]:
    """An uploaded file as `modality`'s model input (no batch dimension), with notes for the UI."""
    spec = REGISTRY[modality]
    # an extension that may hold several kinds (.csv: points or an IMU trace) is read as this modality's
    loaded = read_upload(path, next((k for k in readers.KINDS.get(extension(path), ()) if k in spec.reads), None))
    if loaded.kind not in spec.reads:
        raise gr.Error(f"{loaded.name or 'the file'} holds {loaded.kind}, which {modality} cannot be read from "
                       f"(it takes {' or '.join(spec.reads) or 'no files'})")
    try:
        return spec.from_loaded(loaded)
    except readers.MediaError as error:
        raise gr.Error(str(error)) from None


def query_inputs(loaded: readers.Loaded) -> tuple[dict[str, object], list[str]]:
    """Every modality an uploaded file queries as (a clip gives its frames and its sound track), with notes."""
    inputs, notes = {}, list(loaded.notes)
    for spec in REGISTRY.values():
        if loaded.kind in spec.queries:
            try:
                inputs[spec.name], _ = spec.from_loaded(loaded)
            except readers.MediaError as error:
                notes.append(f"no {spec.name} query: {error}")
    if not inputs:
        raise gr.Error(f"{loaded.name or 'the file'} holds {loaded.kind}, which no modality can query with")
    return inputs, notes
