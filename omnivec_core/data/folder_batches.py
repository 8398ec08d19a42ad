"""Training batches from a folder of the user's own media, in the shape OmniShapes renders them.

`FolderBatches.render` has OmniShapes' signature, so the trainer draws a step from either source. A
batch holds the modalities every item of the split holds (a clip folder: video, its sound, a still
frame, and text when every clip has captions), the item's class as the label "class", and no
OmniShapes attribute: the objectives that need those (attribute heads, segmentation, UniVLC's and
binding's caption agreement) leave folder batches out, the rest (MAE, NCE between what co-occurs in a
file, MIL-NCE with its captions, the class head) train on them.
"""
from __future__ import annotations

import torch

from ..config import FOLDER_LABEL
from ..modalities import CAPTIONS, REGISTRY
from .folders import FolderDataset
from .omnishapes import EventBatch


class FolderBatches:
    def __init__(self, dataset: FolderDataset, split: str = "train", modalities=None, captions_per_event: int = 3):
        items = dataset.split(split)
        if not items:
            raise ValueError(f"{dataset.root} has no {split} items to train on ({len(dataset.skipped)} files skipped)")
        if not dataset.classes:
            raise ValueError(f"{dataset.root} has no class labels (its layout is {dataset.layout}): a folder to train "
                             "on needs class folders or a metadata CSV")
        wanted = set(modalities or REGISTRY)
        held = [m for m in REGISTRY if m in wanted and m != CAPTIONS and all(m in item.inputs for item in items)]
        if CAPTIONS in wanted and all(item.captions for item in items):
            held.append(CAPTIONS)
        if not held:
            raise ValueError(f"no modality is held by every {split} item of {dataset.root}")
        self.root, self.classes, self.modalities = dataset.root, list(dataset.classes), tuple(held)
        index = {name: i for i, name in enumerate(self.classes)}
        self.labels = torch.tensor([index[item.label] for item in items])                       # (N,)
        self.inputs = {m: torch.stack([torch.as_tensor(item.inputs[m]) for item in items])
                       for m in held if m != CAPTIONS}                                           # m -> (N, ...)
        # each item's captions, cycled to the number every event carries
        self.captions = [[item.captions[k % len(item.captions)] for k in range(captions_per_event)]
                         for item in items] if CAPTIONS in held else None

    def __len__(self) -> int:
        return len(self.labels)

    def order(self, seed: int, start: int, n: int) -> torch.Tensor:
        """Items start .. start+n-1 of an endless stream: a fresh permutation of the split each epoch."""
        positions = torch.arange(start, start + n)
        epochs = positions // len(self)
        picks = torch.empty(n, dtype=torch.long)
        for epoch in epochs.unique().tolist():
            permutation = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed * 7919 + epoch))
            chosen = epochs == epoch
            picks[chosen] = permutation[positions[chosen] % len(self)]
        return picks

    def render(self, n: int, seed: int = 0, start: int = 0, modalities=None, device=None, siblings: int = 1,
               varied: float = 0.0) -> EventBatch:
        """A batch of n items of the stream (`siblings` and `varied` are OmniShapes'; a folder's items are as
        they are: no sibling events, no looks drawn)."""
        picks = self.order(seed, start, n)
        wanted = [m for m in (modalities or self.modalities) if m in self.modalities]
        inputs = {m: [self.captions[i] for i in picks.tolist()] if m == CAPTIONS else self.inputs[m][picks]
                  for m in wanted}
        batch = EventBatch(index=picks, seed=seed, labels={FOLDER_LABEL: self.labels[picks]}, inputs=inputs)
        return batch if device is None else batch.to(device)
