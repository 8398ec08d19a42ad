"""What the objectives of one training step share, computed once per step into the step's `cache`:
each modality's encoding and embeddings, and which captions agree with which events."""
from __future__ import annotations

import torch

from ..config import TrainConfig
from ..data.omnishapes import ATTRIBUTES, parse_caption
from ..modalities import CAPTIONS, REGISTRY
from ..model import OmniVec


def names_attributes(batch) -> bool:
    """An OmniShapes batch labels every attribute; a folder's labels only its classes, so the objectives
    that compare captions with attributes (UniVLC, binding, matching) and segmentation leave it out."""
    return all(a in batch.labels for a in ATTRIBUTES)


def batch_modalities(model: OmniVec, batch) -> list[str]:
    """The model's modalities this batch was rendered in: a stage may train only some of them."""
    return [m for m in model.cfg.modalities if REGISTRY[m].batch_input(batch) is not None]


def rows_of(x, rows: torch.Tensor):
    """The given rows of a batch input (a tensor, or a list of captions)."""
    return [x[i] for i in rows.tolist()] if isinstance(x, list) else x[rows]


def signal_encodings(model: OmniVec, batch, cfg: TrainConfig, cache: dict) -> dict:
    """Every signal (not caption) modality encoded once per step (with DropToken), shared by the objectives."""
    if "signals" not in cache:
        inputs = {m: REGISTRY[m].batch_input(batch) for m in batch_modalities(model, batch)
                  if not REGISTRY[m].language}
        cache["signals"] = model.encode_many(inputs, cfg.droptoken)
    return cache["signals"]


def caption_encoding(model: OmniVec, batch, cfg: TrainConfig, cache: dict):
    """All captions of the batch, (B*K) rows in event order, encoded once per step."""
    if "captions" not in cache:
        captions = [c for row in batch[CAPTIONS] for c in row]
        cache["captions"] = model.encode(CAPTIONS, captions, cfg.droptoken.get(CAPTIONS, 0.0))
    return cache["captions"]


def signal_embeddings(model: OmniVec, batch, cfg: TrainConfig, cache: dict) -> dict:
    """Every signal modality's embeddings in all its spaces, once per step."""
    if "signal_embeddings" not in cache:
        cache["signal_embeddings"] = {m: model.embed(e) for m, e in signal_encodings(model, batch, cfg, cache).items()}
    return cache["signal_embeddings"]


def caption_embeddings(model: OmniVec, batch, cfg: TrainConfig, cache: dict) -> dict:
    """All captions' embeddings in all their spaces, (B*K) rows in event order, once per step."""
    if "caption_embeddings" not in cache:
        cache["caption_embeddings"] = model.embed(caption_encoding(model, batch, cfg, cache))
    return cache["caption_embeddings"]


def shared_space(model: OmniVec, a: str, b: str) -> str | None:
    """The space two modalities meet in, or None where the design pairs them nowhere (disjoint spaces)."""
    try:
        return model.embedding.pair_space(a, b)
    except ValueError:
        return None


def caption_agreement(labels: dict[str, torch.Tensor], captions: list[str], attributes=tuple(ATTRIBUTES)
                      ) -> torch.Tensor:
    """(B, C) bool: clip i (`labels`: attribute -> (B,) class ids) has every one of `attributes` that
    caption c names. UniVLC's label for a caption is what it says: "a red disc rising" fits every red
    rising disc, small or large, slow or fast, and a caption that names the speed fits only clips of that
    speed; judged on shape and size alone (what a depth map tells), it fits every disc."""
    clips = torch.stack([labels[a] for a in attributes], 1)                                  # (B, A)
    return agreement(clips, named_classes(captions, attributes, clips.device))


def named_classes(captions: list[str], attributes=tuple(ATTRIBUTES), device=None) -> torch.Tensor:
    """(C, A) the class id each caption names of each attribute, -1 where it is silent."""
    said = [parse_caption(c) for c in captions]
    # one copy to where the labels are, none back to the host
    return torch.tensor([[ATTRIBUTES[a].index(c[a]) if a in c else -1 for a in attributes] for c in said],
                        dtype=torch.long, device=device).reshape(len(captions), len(attributes))


def agreement(clips: torch.Tensor, named: torch.Tensor) -> torch.Tensor:
    """(B, A) class ids of clips and (C, A) named ids of captions (-1: silent) -> (B, C) caption fits clip."""
    return ((named[None] < 0) | (clips[:, None] == named[None])).all(-1)
