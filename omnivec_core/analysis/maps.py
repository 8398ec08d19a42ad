"""Embedding maps of the gallery: every (event, modality) as one point, in the shared space and
right after the stems, with a disk cache beside the checkpoint so a class never waits twice."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from ..io import atomic_write
from .gallery import Gallery, weights_fingerprint
from .projections import other_modality_share, project

log = logging.getLogger(__name__)


@dataclass
class MapData:
    coordinates: np.ndarray      # (P, dims)
    modalities: list[str]        # (P,) modality of each point
    events: np.ndarray           # (P,) gallery event index of each point
    mixing: float                # share of nearest neighbours from another modality


def features_of(gallery: Gallery, space: str, modalities) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Stack the gallery's features of one space ("stem", "vector", or an embedding space)."""
    rows, names, events = [], [], []
    for m in modalities:
        if space not in gallery.embeddings.get(m, {}):  # a folder need not hold every modality
            continue
        value = gallery.embeddings[m][space]
        if space in ("stem", "vector"):  # compare directions, as the embedding spaces do
            value = torch.nn.functional.normalize(value.float(), dim=-1)
        rows.append(value.numpy())
        names += [m] * len(value)
        events.append(np.asarray(gallery.item_of(m, list(range(len(value))))))
    if not rows:
        raise ValueError(f"no modality has features in space {space!r}")
    return np.concatenate(rows), names, np.concatenate(events)


def compute_map(gallery: Gallery, space: str, modalities, method: str, dims: int, seed: int,
                cache_dir: Path | None = None, **params) -> MapData:
    features, names, events = features_of(gallery, space, modalities)
    key = json.dumps({"space": space, "modalities": list(modalities), "method": method, "dims": dims, "seed": seed,
                      "gallery": gallery.key, **params}, sort_keys=True)
    path = None
    if cache_dir is not None:
        fingerprint = weights_fingerprint(cache_dir)
        digest = hashlib.sha256((key + fingerprint).encode()).hexdigest()[:16]
        path = Path(cache_dir) / f"map-{digest}.safetensors"
        if path.is_file():
            try:
                coordinates = load_file(path)["coordinates"]
                return MapData(coordinates, names, events, other_modality_share(coordinates, names))
            except Exception as error:  # a damaged cache file is recomputed
                log.warning("map cache %s unusable (%s); recomputing", path, error)
    coordinates = project(features, method, dims, seed, **params).astype(np.float32)
    if path is not None:
        try:
            atomic_write(path, lambda temp: save_file({"coordinates": coordinates}, temp))
        except OSError as error:  # a read-only checkpoint folder: the map is still returned
            log.warning("could not cache the map at %s: %s", path, error)
    return MapData(coordinates, names, events, other_modality_share(coordinates, names))
