"""The three OmniVec objective groups over one OmniShapes batch: masked pretraining on a
modality-mixed minibatch, cross-modal alignment, and multi-task (simple / dense) fine-tuning."""
from __future__ import annotations

import torch

from ..config import MODALITY_SPECS, TrainConfig
from ..model import OmniVec
from . import losses

ANCHORS = ("video", "image", "depth", "points", "audio")  # first present one anchors the alignment


def model_input(batch, modality: str):
    """The model's input for one modality of an EventBatch (the first caption for text)."""
    if modality == "text":
        return [captions[0] for captions in batch.text]
    return getattr(batch, modality)


def _rows(x, rows: torch.Tensor):
    return [x[i] for i in rows.tolist()] if isinstance(x, list) else x[rows]


def mae_objective(model: OmniVec, batch, cfg: TrainConfig, step: int) -> dict[str, torch.Tensor]:
    """MAE on every reconstructable modality; with modality mixing each event lends only one
    modality to the minibatch, so a step mixes modalities at the cost of one."""
    modalities = [m for m in model.cfg.modalities if MODALITY_SPECS[m].reconstruct]
    events = len(batch)
    if cfg.modality_mixing:
        order = torch.randperm(events, generator=torch.Generator().manual_seed(cfg.seed * 7919 + step))
        slices = dict(zip(modalities, order.chunk(len(modalities))))
    else:
        slices = {m: torch.arange(events) for m in modalities}
    inputs = {m: _rows(model_input(batch, m), rows.to(batch.index.device)) for m, rows in slices.items()}
    encoded = model.encode_many(inputs, cfg.mask_ratio, cfg.mask_type)
    return {f"mae/{m}": losses.mae_loss(m, model.reconstruct(encoded[m], inputs[m])) for m in inputs}


def contrastive_objective(model: OmniVec, batch, cfg: TrainConfig, step: int) -> dict[str, torch.Tensor]:
    """NCE between the anchor (video) and every other signal modality in their pair space, and
    MIL-NCE between the anchor and all captions of its event."""
    present = model.cfg.modalities
    anchor = next(m for m in ANCHORS if m in present)
    inputs = {m: model_input(batch, m) for m in present if m != "text"}
    encoded = model.encode_many(inputs, cfg.droptoken)
    embedded = {m: model.embed(e) for m, e in encoded.items()}
    out = {}
    for other in inputs:
        if other != anchor:
            space = model.embedding.pair_space(anchor, other)
            out[f"nce/{anchor}-{other}"] = losses.nce(embedded[anchor][space], embedded[other][space], cfg.temperature)
    if "text" in present:
        captions = [c for row in batch.text for c in row]
        text = model.embed(model.encode("text", captions, cfg.droptoken.get("text", 0.0)))
        space = model.embedding.pair_space(anchor, "text")
        per_clip = text[space].reshape(len(batch), -1, text[space].shape[-1])  # (B, K, d)
        out[f"milnce/{anchor}-text"] = losses.mil_nce(embedded[anchor][space], per_clip, cfg.temperature)
        if cfg.univlc:
            labels = (batch.labels["shape"] * 8 + batch.labels["colour"]) * 8 + batch.labels["motion"]
            out[f"univlc/{anchor}-text"] = losses.univlc(embedded[anchor][space], per_clip[:, 0], labels,
                                                         cfg.temperature)
    return out


def task_objective(model: OmniVec, batch, cfg: TrainConfig, step: int) -> dict[str, torch.Tensor]:
    """Simple tasks (attribute classification from every modality) and dense tasks (segmentation of
    image, depth and points); with task grouping they alternate step by step, else both run."""
    simple = not cfg.task_grouping or step % 2 == 0
    dense = not cfg.task_grouping or step % 2 == 1
    out = {}
    if simple:
        encoded = model.encode_many({m: model_input(batch, m) for m in model.cfg.modalities}, cfg.droptoken)
        for m, e in encoded.items():
            observed = MODALITY_SPECS[m].observes
            logits = {k: v for k, v in model.classify(e).items() if k in observed}
            out[f"cls/{m}"] = losses.classification_loss(logits, batch.labels)
    if dense:
        targets = {"image": batch.image_mask, "depth": batch.depth_mask, "points": batch.point_labels}
        inputs = {m: model_input(batch, m) for m in model.cfg.modalities if MODALITY_SPECS[m].dense}
        for m, e in model.encode_many(inputs).items():
            out[f"seg/{m}"] = losses.segmentation_loss(model.segment(e, inputs[m]), targets[m], m == "points")
    return out


OBJECTIVES = {"mae": mae_objective, "contrastive": contrastive_objective, "tasks": task_objective}


def stage_losses(model: OmniVec, batch, cfg: TrainConfig, step: int, weights: dict[str, float]
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted sum of the stage's objectives, and every named loss (unweighted) for logging."""
    unknown = set(weights) - set(OBJECTIVES)
    if unknown:
        raise ValueError(f"unknown objectives {sorted(unknown)}; known: {sorted(OBJECTIVES)}")
    total, named = 0.0, {}
    for name, weight in weights.items():
        parts = OBJECTIVES[name](model, batch, cfg, step)
        named.update(parts)
        total = total + weight * sum(parts.values()) / max(len(parts), 1)
    return total, named
