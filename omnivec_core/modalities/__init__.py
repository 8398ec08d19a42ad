"""The modality registry: every modality is one object in one file, and this table is the one place
that lists them. Model, objectives, analysis, evaluation and the app's tabs loop over it.

Adding a modality: a file here with its `Modality` subclass, a stem in `model/stems.py`, its
renderer in OmniShapes and its reader in `data/readers`, then one entry below.
"""
from __future__ import annotations

from . import audio, depth, image, imu, points, text, video
from .base import Modality, View, psnr

# The order is the order of every per-modality table (and of the meta token's modality embedding).
REGISTRY: dict[str, Modality] = {m.name: m for m in (image.IMAGE, video.VIDEO, audio.AUDIO, text.TEXT, depth.DEPTH,
                                                     points.POINTS, imu.IMU_SENSOR)}
MODALITIES = tuple(REGISTRY)
CAPTIONS = next(m.name for m in REGISTRY.values() if m.language)  # the modality whose samples are captions
# Each name for code about one modality in particular (a paper's video-audio study, a tab's first choice, a
# renderer): a misspelt name is an ImportError here, never a silent miss in a string comparison.
IMAGE, VIDEO, AUDIO, DEPTH, POINTS, IMU = (m.name for m in (image.IMAGE, video.VIDEO, audio.AUDIO, depth.DEPTH,
                                                              points.POINTS, imu.IMU_SENSOR))


def get(name: str) -> Modality:
    """The registry entry of `name`, or a ValueError naming the known modalities."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown modality {name!r}; known: {list(REGISTRY)}") from None


def check_names(names, where: str) -> None:
    """Refuse any name in `names` that is not a registered modality, saying where it came from."""
    unknown = [m for m in names if m not in REGISTRY]
    if unknown:
        raise ValueError(f"{where} names unknown modalities {unknown}; known: {list(REGISTRY)}")


def anchor_of(present) -> str | None:
    """The modality the contrastive objective aligns the others to: the present one of lowest anchor rank."""
    ranked = [REGISTRY[m] for m in present if REGISTRY[m].anchor_rank is not None]
    return min(ranked, key=lambda m: m.anchor_rank).name if ranked else None


__all__ = ["Modality", "View", "REGISTRY", "MODALITIES", "CAPTIONS", "IMAGE", "VIDEO", "AUDIO", "DEPTH", "POINTS", "IMU", "get", "check_names", "anchor_of", "psnr"]
