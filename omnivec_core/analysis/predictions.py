"""What the task heads say about one sample: a probability per class of every attribute its modality
observes, and for a modality with a dense head the predicted class of every pixel or point; beside
them the zero-shot labels (the nearest class prompt in text), which need no head at all."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..data.omnishapes import ATTRIBUTES
from ..evaluation.pairs import zero_shot_labels
from ..modalities import REGISTRY
from ..model import OmniVec

SEGMENT_CLASSES = ("background",) + ATTRIBUTES["shape"]  # dense heads: 0 background / ground, 1 + shape


@dataclass
class Predictions:
    modality: str
    attributes: dict[str, dict[str, float]]          # attribute -> class -> probability (observed attributes)
    segmentation: torch.Tensor | None = None         # (H, W) or (P,) class ids, for modalities with a dense head
    zero_shot: dict[str, tuple[str, float]] = field(default_factory=dict)  # attribute -> (class, cosine)

    def top(self) -> dict[str, tuple[str, float]]:
        """attribute -> (most probable class, its probability)."""
        return {a: max(p.items(), key=lambda kv: kv[1]) for a, p in self.attributes.items()}


@torch.no_grad()
def predict(model: OmniVec, modality: str, x) -> Predictions:
    """The heads' view of one sample `x` (a batch of one in the modality's input layout; text: [caption])."""
    spec = REGISTRY[modality]
    encoded = model.encode(modality, x)
    logits = model.classify(encoded)
    attributes = {a: dict(zip(ATTRIBUTES[a], logits[a][0].softmax(-1).tolist())) for a in spec.observes}
    segmentation = None
    if spec.dense and modality in model.tasks.dense:
        segmentation = spec.dense_classes(model.segment(encoded, x))[0].cpu()
    return Predictions(modality, attributes, segmentation, zero_shot_labels(model, modality, model.embed(encoded)))
