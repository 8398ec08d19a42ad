"""Embedding a batch of events in every modality, in chunks, without gradients."""
from __future__ import annotations

import torch

from ..model import OmniVec
from ..modalities import REGISTRY


def _chunks(x, size: int):
    for start in range(0, len(x), size):
        yield x[start:start + size]


@torch.no_grad()
def embed_modality(model: OmniVec, modality: str, x, chunk: int = 256, drop_rate: float = 0.0
                   ) -> dict[str, torch.Tensor]:
    """Embeddings in every space of the modality, plus "vector" (the vectorizer output) and
    "stem" (mean projected token before the backbone), each (N, d) on the CPU."""
    parts: dict[str, list[torch.Tensor]] = {}
    for piece in _chunks(x, chunk):
        encoded = model.encode(modality, piece, drop_rate)
        outputs = {**model.embed(encoded), "vector": encoded.vector, "stem": encoded.stem_vector}
        for key, value in outputs.items():
            parts.setdefault(key, []).append(value.float().cpu())
    return {key: torch.cat(values) for key, values in parts.items()}


def embed_batch(model: OmniVec, batch, modalities=None, chunk: int = 256, drop_rate: float = 0.0
                ) -> dict[str, dict[str, torch.Tensor]]:
    """Every requested modality of an EventBatch (text: the first caption of each event)."""
    modalities = modalities or model.cfg.modalities
    return {m: embed_modality(model, m, REGISTRY[m].batch_input(batch), chunk, drop_rate) for m in modalities}


@torch.no_grad()
def recalibrate_batchnorm(model: OmniVec, world, seed: int, batches: int = 4, batch_size: int = 64) -> None:
    """Precise BN: replace the projection heads' running statistics by exact averages over a few
    batches under the current weights. The moving averages lag behind fast-changing features, and
    evaluation (single queries, no batch) relies on them."""
    held = tuple(f"{part}." for part in model.held_parts)  # frozen parts keep the statistics they came with
    norms = [m for name, m in model.named_modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and not f"{name}.".startswith(held)]
    if not norms:
        return
    was_training = model.training
    model.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the calibration batches
        norm.train()
    device = next(model.parameters()).device
    for i in range(batches):
        batch = world.render(batch_size, seed=seed, start=i * batch_size, device=device)
        for encoded in model.encode_many({m: REGISTRY[m].batch_input(batch) for m in model.cfg.modalities}).values():
            model.embed(encoded)  # the batch norms live in the embedding heads
    for norm in norms:
        norm.momentum = 0.1
    model.train(was_training)
