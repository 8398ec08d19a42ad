"""The OmniVec objective groups over one OmniShapes batch: masked pretraining on a modality-mixed
minibatch (`mae`), cross-modal alignment to the anchor (`contrastive`), instance contrast between every
two other modalities (`pairs`), binding every other modality to captions (`bind`), multi-task (simple /
dense) fine-tuning (`tasks`), and OmniVL's caption matching and captioning (`matching`, `captioning`:
objectives/language.py)."""
from __future__ import annotations

import itertools

import torch

from ..config import FOLDER_LABEL, ModelConfig, StageConfig, TrainConfig
from ..constants import TEMPERATURE
from ..data.omnishapes import ATTRIBUTES, counterfactual_captions
from ..modalities import CAPTIONS, REGISTRY, anchor_of
from ..model import OmniVec
from . import losses
from .encodings import (batch_modalities, caption_agreement, caption_embeddings, caption_encoding, named_classes,
                        names_attributes, rows_of, shared_space, signal_embeddings, signal_encodings)
from .language import captioning_objective, matching_objective
from .momentum import MomentumQueue, queued_univlc


def mae_objective(model: OmniVec, batch, cfg: TrainConfig, stage: StageConfig, step: int, cache: dict
                  ) -> dict[str, torch.Tensor]:
    """MAE on every reconstructable modality; with the stage's modality mixing each event lends only one
    modality to the minibatch (`lent_rows`), so a step mixes modalities at the cost of one."""
    modalities = reconstructed_modalities(batch_modalities(model, batch), stage)
    if stage.modality_mixing:
        slices = lent_rows(modalities, len(batch), stage, cfg.seed * 7919 + step)
    else:
        slices = {m: torch.arange(len(batch)) for m in modalities}
    inputs = {m: rows_of(REGISTRY[m].batch_input(batch), rows.to(batch.index.device)) for m, rows in slices.items()}
    encoded = model.encode_many(inputs, cfg.mask_ratio, cfg.mask_type, for_mae=True)
    return {f"mae/{m}": losses.mae_loss(m, model.reconstruct(encoded[m], inputs[m]), stage.mae_relative)
            for m in inputs}


def lent_rows(modalities: list[str], rows: int, stage: StageConfig, seed: int) -> dict[str, torch.Tensor]:
    """Modality mixing: the batch rows each modality reconstructs, every event lent to one modality at random.
    The copies of a replicated event (`StageConfig.replicas`, adjacent rows) go together: one sample under
    several masks (OmniMAE)."""
    copies = stage.replicas
    order = torch.randperm(rows // copies, generator=torch.Generator().manual_seed(seed))  # distinct events
    if copies > 1 and len(order) < len(modalities):
        raise ValueError(f"stage {stage.name!r}: {len(order)} distinct events a step leave some of the "
                         f"{len(modalities)} modalities it reconstructs none; lower replicas or raise batch_size")
    # unreplicated steps split as they always have, so earlier runs replay; chunk's equal parts would leave
    # a modality nothing of a few replicated events (8 among 6: four parts of 2), tensor_split's do not
    parts = order.chunk(len(modalities)) if copies == 1 else order.tensor_split(len(modalities))
    copy = torch.arange(copies)
    return {m: (part[:, None] * copies + copy).flatten()  # (E, copies) -> the rows of each lent event's copies
            for m, part in zip(modalities, parts)}


def reconstructed_modalities(modalities, stage: StageConfig) -> list[str]:
    """The modalities the MAE objective reconstructs: those with a target, less any whose mae_weight is 0."""
    kept = [m for m in modalities if REGISTRY[m].reconstruct and part_weight(stage, f"mae/{m}") > 0]
    if not kept:
        raise ValueError(f"stage {stage.name!r}: mae_weights {stage.mae_weights} leave no modality for the "
                         f"MAE objective")
    return kept


def stage_modalities(modalities, stage: StageConfig) -> tuple[str, ...]:
    """The modalities a stage renders: of the model's `modalities`, those the stage names (all if it names
    none), and of those only the reconstructed ones for a stage of MAE alone."""
    chosen = [m for m in modalities if not stage.modalities or m in stage.modalities]
    if not chosen:
        raise ValueError(f"stage {stage.name!r} trains {stage.modalities}, none of which the model has "
                         f"({list(modalities)})")
    if set(stage.objectives) == {"mae"}:
        return tuple(reconstructed_modalities(chosen, stage))
    return tuple(chosen)


def contrastive_objective(model: OmniVec, batch, cfg: TrainConfig, stage: StageConfig, step: int, cache: dict
                          ) -> dict[str, torch.Tensor]:
    """NCE between the anchor (video) and every other signal modality in their pair space, and
    MIL-NCE between the anchor and all captions of its event."""
    present = batch_modalities(model, batch)
    anchor = contrastive_anchor(present)
    encoded = signal_encodings(model, batch, cfg, cache)
    embedded = signal_embeddings(model, batch, cfg, cache)
    out = {}
    for other in encoded:
        if other != anchor:
            space = model.embedding.pair_space(anchor, other)
            out[f"nce/{anchor}-{other}"] = losses.nce(embedded[anchor][space], embedded[other][space], TEMPERATURE)
    if CAPTIONS in present:
        text = caption_embeddings(model, batch, cfg, cache)
        space = model.embedding.pair_space(anchor, CAPTIONS)
        captions = [c for row in batch[CAPTIONS] for c in row]
        per_clip = text[space].reshape(len(batch), -1, text[space].shape[-1])  # (B, K, d)
        wrong, wrong_captions = None, []
        if cfg.negative_captions and names_attributes(batch):
            generator = torch.Generator().manual_seed(cfg.seed * 7907 + step)
            wrong_captions = [c for row in counterfactual_captions(batch.labels, cfg.negative_captions, generator)
                              for c in row]
            wrong = model.embed(model.encode(CAPTIONS, wrong_captions, cfg.droptoken.get(CAPTIONS, 0.0)))[space]
            wrong = wrong.reshape(len(batch), cfg.negative_captions, -1)                 # (B, M, d)
        out[f"milnce/{anchor}-{CAPTIONS}"] = losses.mil_nce(embedded[anchor][space], per_clip, TEMPERATURE, wrong)
        if cfg.univlc and names_attributes(batch):
            pool = text[space] if wrong is None else torch.cat([text[space], wrong.flatten(0, 1)])
            out[f"univlc/{anchor}-{CAPTIONS}"] = univlc_loss(model, batch, anchor, space, embedded[anchor][space],
                                                             pool, captions + wrong_captions, cache.get("momentum"))
    return out


def pairs_objective(model: OmniVec, batch, cfg: TrainConfig, stage: StageConfig, step: int, cache: dict
                    ) -> dict[str, torch.Tensor]:
    """NCE between every two signal modalities but the anchor, in the space they share: the pairs that
    ImageBind leaves to emergence through the anchor (image-depth, depth-points, audio-imu ...) are
    contrasted directly, so an instance is told from its siblings in those pairs too."""
    anchor = contrastive_anchor(batch_modalities(model, batch))
    embedded = signal_embeddings(model, batch, cfg, cache)
    out = {}
    for a, b in itertools.combinations([m for m in embedded if m != anchor], 2):
        space = model.embedding.pair_space(a, b)  # check_pairs refused the designs that pair them nowhere
        out[f"nce/{a}-{b}"] = losses.nce(embedded[a][space], embedded[b][space], TEMPERATURE)
    return out


def univlc_loss(model: OmniVec, batch, anchor: str, space: str, clips, pool, pool_captions: list[str],
                momentum: MomentumQueue | None) -> torch.Tensor:
    """UniVLC of the anchor's clips against the caption pool, in-batch; with a momentum queue also against
    the queued keys, after which the momentum encoder's keys of this batch join the queue."""
    if momentum is None:
        return losses.univlc(clips, pool, caption_agreement(batch.labels, pool_captions), TEMPERATURE)
    clip_labels = torch.stack([batch.labels[a] for a in ATTRIBUTES], 1)                          # (B, A)
    loss = queued_univlc(clips, pool, clip_labels, named_classes(pool_captions, device=clips.device), momentum,
                         TEMPERATURE)
    with torch.no_grad():
        captions = [c for row in batch[CAPTIONS] for c in row]
        momentum.push("clips", momentum.encoder.embed(momentum.encoder.encode(
            anchor, REGISTRY[anchor].batch_input(batch)))[space], clip_labels)
        momentum.push("captions", momentum.encoder.embed(momentum.encoder.encode(CAPTIONS, captions))[space],
                      named_classes(captions, device=clips.device))
    return loss


def binding_objective(model: OmniVec, batch, cfg: TrainConfig, stage: StageConfig, step: int, cache: dict
                      ) -> dict[str, torch.Tensor]:
    """Every signal modality but the anchor meets the captions in its pair space with text (UniVLC), a
    caption being a positive for a sample when it agrees with the sample's event on every attribute that
    modality observes: a depth map fits "a red cube" whatever its colour, which it cannot see. The anchor
    (video) binds instances, as in ImageBind; without this only the anchor learns words, and every other
    modality reaches text only through it."""
    present = batch_modalities(model, batch)
    anchor = contrastive_anchor(present)
    if CAPTIONS not in present:
        raise ValueError(f"the bind objective pairs modalities with captions; the stage has {list(present)}")
    if not names_attributes(batch):
        return {}
    embedded = signal_embeddings(model, batch, cfg, cache)
    text, captions = caption_embeddings(model, batch, cfg, cache), [c for row in batch[CAPTIONS] for c in row]
    out = {}
    for m in (m for m in embedded if m != anchor):
        space = shared_space(model, m, CAPTIONS)
        if space is not None:
            positive = caption_agreement(batch.labels, captions, REGISTRY[m].observes)
            out[f"bind/{m}-{CAPTIONS}"] = losses.univlc(embedded[m][space], text[space], positive, TEMPERATURE)
    return out


def contrastive_anchor(present) -> str:
    """The modality every other one is aligned to; there must be one, and something to pair it with."""
    anchor = anchor_of(present)
    if anchor is None or len(present) < 2:
        raise ValueError(f"the contrastive objective needs a signal modality and one more to pair it with; "
                         f"the stage has {list(present)}")
    return anchor


def check_plan(model: ModelConfig, cfg: TrainConfig) -> None:
    """Fail before training, not when the plan reaches it, on a stage this model cannot run."""
    for stage in cfg.stages:
        present = stage_modalities(model.modalities, stage)
        if {"contrastive", "pairs", "bind"} & set(stage.objectives):
            try:
                anchor = contrastive_anchor(present)
            except ValueError as error:
                raise ValueError(f"stage {stage.name!r}: {error}") from None
            if "pairs" in stage.objectives:
                check_pairs(model, stage, anchor, present)
        for name in {"bind", "matching", "captioning"} & set(stage.objectives):
            if CAPTIONS not in present:
                raise ValueError(f"stage {stage.name!r}: the {name} objective pairs modalities with captions "
                                 f"({CAPTIONS}), which the stage does not render")
        if {"matching", "captioning"} & set(stage.objectives) and not model.text_decoder_depth:
            raise ValueError(f"stage {stage.name!r}: matching and captioning train OmniVL's text decoders, which "
                             f"this model lacks: set model.text_decoder_depth (for example 2)")


def check_pairs(model: ModelConfig, stage: StageConfig, anchor: str, present) -> None:
    """The pairs objective needs two signal modalities besides the anchor, in a space they share."""
    others = [m for m in present if m not in (anchor, CAPTIONS)]
    if model.embed_space == "disjoint":
        raise ValueError(f"stage {stage.name!r}: the pairs objective contrasts modalities in the space they share, "
                         f"and disjoint spaces pair each modality with {anchor} alone; use embed_space 'fac' or "
                         f"'shared', or leave the objective out")
    if len(others) < 2:
        raise ValueError(f"stage {stage.name!r}: the pairs objective contrasts signal modalities other than the "
                         f"anchor ({anchor}) with each other; the stage has only {others}")


def task_objective(model: OmniVec, batch, cfg: TrainConfig, stage: StageConfig, step: int, cache: dict
                   ) -> dict[str, torch.Tensor]:
    """Simple tasks (attribute classification from every modality) and dense tasks (segmentation of
    image, depth and points); with task grouping they alternate step by step, else both run."""
    simple = not cfg.task_grouping or step % 2 == 0 or not names_attributes(batch)
    dense = (not cfg.task_grouping or step % 2 == 1) and names_attributes(batch)
    out = {}
    encoded = signal_encodings(model, batch, cfg, cache)
    if simple:
        vectors = {m: e.vector for m, e in encoded.items()}
        per_event = dict.fromkeys(vectors, 1)
        if CAPTIONS in batch_modalities(model, batch):
            # every caption of the event, not only the first: the text stem learns its synonyms three times
            # as fast for the cost of a head, the captions being encoded for alignment anyway
            vectors[CAPTIONS] = caption_encoding(model, batch, cfg, cache).vector  # (B*K, D), event-major
            per_event[CAPTIONS] = len(batch[CAPTIONS][0])
        for m, vector in vectors.items():
            observed = set(REGISTRY[m].observes) | {FOLDER_LABEL}  # a folder item's class is in all it holds
            named = observed & batch.labels.keys()
            logits = {k: v for k, v in model.tasks.classification(vector).items() if k in named}
            labels = {k: v.repeat_interleave(per_event[m]) for k, v in batch.labels.items() if k in logits}
            if logits:
                out[f"cls/{m}"] = losses.classification_loss(logits, labels, cfg.attribute_weights)
    if dense:
        dense_modalities = [REGISTRY[m] for m in batch_modalities(model, batch) if REGISTRY[m].dense]
        full = {m.name: encoded[m.name] for m in dense_modalities if encoded[m.name].masking is None}  # reuse when
        full.update(model.encode_many({m.name: m.batch_input(batch) for m in dense_modalities  # nothing dropped
                                       if m.name not in full}))
        for m in dense_modalities:
            logits = model.segment(full[m.name], m.batch_input(batch))
            out[f"seg/{m.name}"] = m.segmentation_loss(logits, m.dense_target(batch))
    return out


OBJECTIVES = {"mae": mae_objective, "contrastive": contrastive_objective, "pairs": pairs_objective,
              "bind": binding_objective, "tasks": task_objective, "matching": matching_objective,
              "captioning": captioning_objective}


def stage_losses(model: OmniVec, batch, cfg: TrainConfig, stage: StageConfig, step: int,
                 momentum: MomentumQueue | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Weighted sum of the stage's objectives, and every named loss (unweighted) for logging. `momentum`:
    the run's momentum encoder and queues (train.momentum_queue)."""
    unknown = set(stage.objectives) - set(OBJECTIVES)
    if unknown:
        raise ValueError(f"unknown objectives {sorted(unknown)}; known: {sorted(OBJECTIVES)}")
    total, named, cache = 0.0, {}, {"momentum": momentum}
    for name, weight in stage.objectives.items():
        parts = OBJECTIVES[name](model, batch, cfg, stage, step, cache)
        named.update(parts)
        total = total + weight * losses.weighted_mean(parts, {key: part_weight(stage, key) for key in parts})
    return total, named


def part_weight(stage: StageConfig, key: str) -> float:
    """Weight of one named loss within its objective's mean: the stage's `mae_weights` for "mae/<modality>",
    else 1."""
    kind, _, modality = key.partition("/")
    return stage.mae_weights.get(modality, 1.0) if kind == "mae" else 1.0
