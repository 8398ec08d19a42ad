"""The three OmniVec objective groups over one OmniShapes batch: masked pretraining on a
modality-mixed minibatch, cross-modal alignment, and multi-task (simple / dense) fine-tuning."""
from __future__ import annotations

import torch

from ..config import MODALITY_SPECS, StageConfig, TrainConfig
from ..data.omnishapes import ATTRIBUTES, counterfactual_captions, parse_caption
from ..model import OmniVec
from . import losses

ANCHORS = ("video", "image", "depth", "points", "audio")  # first present one anchors the alignment


def model_input(batch, modality: str):
    """The model's input for one modality of an EventBatch (the first caption for text)."""
    if modality == "text":
        return None if batch.text is None else [captions[0] for captions in batch.text]
    return getattr(batch, modality)


def batch_modalities(model: OmniVec, batch) -> list[str]:
    """The model's modalities this batch was rendered in: a stage may train only some of them."""
    return [m for m in model.cfg.modalities if model_input(batch, m) is not None]


def _rows(x, rows: torch.Tensor):
    return [x[i] for i in rows.tolist()] if isinstance(x, list) else x[rows]


def signal_encodings(model: OmniVec, batch, cfg: TrainConfig, cache: dict) -> dict:
    """Every non-text modality encoded once per step (with DropToken), shared by the objectives."""
    if "signals" not in cache:
        inputs = {m: model_input(batch, m) for m in batch_modalities(model, batch) if m != "text"}
        cache["signals"] = model.encode_many(inputs, cfg.droptoken)
    return cache["signals"]


def caption_encoding(model: OmniVec, batch, cfg: TrainConfig, cache: dict):
    """All captions of the batch, (B*K) rows in event order, encoded once per step."""
    if "captions" not in cache:
        captions = [c for row in batch.text for c in row]
        cache["captions"] = model.encode("text", captions, cfg.droptoken.get("text", 0.0))
    return cache["captions"]


def mae_objective(model: OmniVec, batch, cfg: TrainConfig, step: int, cache: dict) -> dict[str, torch.Tensor]:
    """MAE on every reconstructable modality; with modality mixing each event lends only one
    modality to the minibatch, so a step mixes modalities at the cost of one."""
    modalities = reconstructed_modalities(batch_modalities(model, batch), cfg)
    events = len(batch)
    if cfg.modality_mixing:
        order = torch.randperm(events, generator=torch.Generator().manual_seed(cfg.seed * 7919 + step))
        slices = dict(zip(modalities, order.chunk(len(modalities))))
    else:
        slices = {m: torch.arange(events) for m in modalities}
    inputs = {m: _rows(model_input(batch, m), rows.to(batch.index.device)) for m, rows in slices.items()}
    encoded = model.encode_many(inputs, cfg.mask_ratio, cfg.mask_type, for_mae=True)
    return {f"mae/{m}": losses.mae_loss(m, model.reconstruct(encoded[m], inputs[m]), cfg.mae_relative)
            for m in inputs}


def reconstructed_modalities(modalities, cfg: TrainConfig) -> list[str]:
    """The modalities the MAE objective reconstructs: those with a target, less any whose mae_weight is 0."""
    kept = [m for m in modalities if MODALITY_SPECS[m].reconstruct and part_weight(cfg, f"mae/{m}") > 0]
    if not kept:
        raise ValueError(f"train.mae_weights {cfg.mae_weights} leave no modality for the MAE objective")
    return kept


def stage_modalities(modalities, cfg: TrainConfig, stage: StageConfig) -> tuple[str, ...]:
    """The modalities a stage renders: of the model's `modalities`, those the stage names (all if it names
    none), and of those only the reconstructed ones for a stage of MAE alone."""
    chosen = [m for m in modalities if not stage.modalities or m in stage.modalities]
    if not chosen:
        raise ValueError(f"stage {stage.name!r} trains {stage.modalities}, none of which the model has "
                         f"({list(modalities)})")
    if set(stage.objectives) == {"mae"}:
        return tuple(reconstructed_modalities(chosen, cfg))
    return tuple(chosen)


def contrastive_objective(model: OmniVec, batch, cfg: TrainConfig, step: int, cache: dict
                          ) -> dict[str, torch.Tensor]:
    """NCE between the anchor (video) and every other signal modality in their pair space, and
    MIL-NCE between the anchor and all captions of its event."""
    present = batch_modalities(model, batch)
    anchor = contrastive_anchor(present)
    encoded = signal_encodings(model, batch, cfg, cache)
    embedded = {m: model.embed(e) for m, e in encoded.items()}
    out = {}
    for other in encoded:
        if other != anchor:
            space = model.embedding.pair_space(anchor, other)
            out[f"nce/{anchor}-{other}"] = losses.nce(embedded[anchor][space], embedded[other][space], cfg.temperature)
    if "text" in present:
        text = model.embed(caption_encoding(model, batch, cfg, cache))
        space = model.embedding.pair_space(anchor, "text")
        captions = [c for row in batch.text for c in row]
        per_clip = text[space].reshape(len(batch), -1, text[space].shape[-1])  # (B, K, d)
        wrong, wrong_captions = None, []
        if cfg.negative_captions:
            generator = torch.Generator().manual_seed(cfg.seed * 7907 + step)
            wrong_captions = [c for row in counterfactual_captions(batch.labels, cfg.negative_captions, generator)
                              for c in row]
            wrong = model.embed(model.encode("text", wrong_captions, cfg.droptoken.get("text", 0.0)))[space]
            wrong = wrong.reshape(len(batch), cfg.negative_captions, -1)                 # (B, M, d)
        out[f"milnce/{anchor}-text"] = losses.mil_nce(embedded[anchor][space], per_clip, cfg.temperature, wrong)
        if cfg.univlc:
            pool = text[space] if wrong is None else torch.cat([text[space], wrong.flatten(0, 1)])
            positive = caption_agreement(batch.labels, captions + wrong_captions)
            out[f"univlc/{anchor}-text"] = losses.univlc(embedded[anchor][space], pool, positive, cfg.temperature)
    return out


def contrastive_anchor(present) -> str:
    """The modality every other one is aligned to; there must be one, and something to pair it with."""
    anchor = next((m for m in ANCHORS if m in present), None)
    if anchor is None or len(present) < 2:
        raise ValueError(f"the contrastive objective needs a signal modality and one more to pair it with; "
                         f"the stage has {list(present)}")
    return anchor


def check_plan(modalities, cfg: TrainConfig) -> None:
    """Fail before training, not when the plan reaches it, on a stage these modalities cannot run."""
    for stage in cfg.stages:
        present = stage_modalities(modalities, cfg, stage)
        if "contrastive" in stage.objectives:
            try:
                contrastive_anchor(present)
            except ValueError as error:
                raise ValueError(f"stage {stage.name!r}: {error}") from None


def caption_agreement(labels: dict[str, torch.Tensor], captions: list[str]) -> torch.Tensor:
    """(B, C) bool: clip i (`labels`: attribute -> (B,) class ids) has every attribute that caption c
    names. UniVLC's label for a caption is what it says: "a red disc rising" fits every red rising
    disc, small or large, slow or fast, and a caption that names the speed fits only clips of that speed."""
    said = [parse_caption(c) for c in captions]
    clips = torch.stack([labels[a] for a in ATTRIBUTES])                                     # (A, B)
    # one copy to where the labels are, none back to the host; -1 where the caption is silent
    named = torch.tensor([[classes.index(c[a]) if a in c else -1 for c in said]
                          for a, classes in ATTRIBUTES.items()], device=clips.device)        # (A, C)
    return ((named[:, None, :] < 0) | (clips[:, :, None] == named[:, None, :])).all(0)      # (B, C)


def task_objective(model: OmniVec, batch, cfg: TrainConfig, step: int, cache: dict) -> dict[str, torch.Tensor]:
    """Simple tasks (attribute classification from every modality) and dense tasks (segmentation of
    image, depth and points); with task grouping they alternate step by step, else both run."""
    simple = not cfg.task_grouping or step % 2 == 0
    dense = not cfg.task_grouping or step % 2 == 1
    out = {}
    encoded = signal_encodings(model, batch, cfg, cache)
    if simple:
        vectors = {m: e.vector for m, e in encoded.items()}
        per_event = dict.fromkeys(vectors, 1)
        if "text" in batch_modalities(model, batch):
            # every caption of the event, not only the first: the text stem learns its synonyms three times
            # as fast for the cost of a head, the captions being encoded for alignment anyway
            vectors["text"] = caption_encoding(model, batch, cfg, cache).vector  # (B*K, D), event-major
            per_event["text"] = len(batch.text[0])
        for m, vector in vectors.items():
            observed = MODALITY_SPECS[m].observes
            logits = {k: v for k, v in model.tasks.classification(vector).items() if k in observed}
            labels = {k: v.repeat_interleave(per_event[m]) for k, v in batch.labels.items() if k in observed}
            out[f"cls/{m}"] = losses.classification_loss(logits, labels, cfg.attribute_weights)
    if dense:
        targets = {"image": batch.image_mask, "depth": batch.depth_mask, "points": batch.point_labels}
        dense_modalities = [m for m in batch_modalities(model, batch) if MODALITY_SPECS[m].dense]
        full = {m: encoded[m] for m in dense_modalities if encoded[m].masking is None}  # reuse when nothing dropped
        full.update(model.encode_many({m: model_input(batch, m) for m in dense_modalities if m not in full}))
        for m in dense_modalities:
            x = model_input(batch, m)
            out[f"seg/{m}"] = losses.segmentation_loss(model.segment(full[m], x), targets[m], m == "points")
    return out


OBJECTIVES = {"mae": mae_objective, "contrastive": contrastive_objective, "tasks": task_objective}


def stage_losses(model: OmniVec, batch, cfg: TrainConfig, step: int, weights: dict[str, float]
                 ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted sum of the stage's objectives, and every named loss (unweighted) for logging."""
    unknown = set(weights) - set(OBJECTIVES)
    if unknown:
        raise ValueError(f"unknown objectives {sorted(unknown)}; known: {sorted(OBJECTIVES)}")
    total, named, cache = 0.0, {}, {}
    for name, weight in weights.items():
        parts = OBJECTIVES[name](model, batch, cfg, step, cache)
        named.update(parts)
        total = total + weight * losses.weighted_mean(parts, {key: part_weight(cfg, key) for key in parts})
    return total, named


def part_weight(cfg: TrainConfig, key: str) -> float:
    """Weight of one named loss within its objective's mean: `mae_weights` for "mae/<modality>", else 1."""
    kind, _, modality = key.partition("/")
    return cfg.mae_weights.get(modality, 1.0) if kind == "mae" else 1.0
