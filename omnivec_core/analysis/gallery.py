"""The held-out gallery the app searches and maps: embeddings of N OmniShapes events in every
modality, cached beside the checkpoint as safetensors (a cache: deleted, it is rebuilt)."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..data.omnishapes import WORLD_VERSION, OmniShapes
from ..modalities import CAPTIONS
from ..model import OmniVec
from ..io import atomic_write
from .embeddings import embed_batch

GALLERY_SEED = 7_777_777  # held out: never a training or evaluation seed
log = logging.getLogger(__name__)


@dataclass
class Gallery:
    seed: int
    n: int
    labels: dict[str, torch.Tensor]                    # attribute -> (n,) class ids
    captions: list[str]                                # first caption of each event
    embeddings: dict[str, dict[str, torch.Tensor]]     # modality -> space | "vector" | "stem" -> (n, d)

    @property
    def key(self) -> str:
        """Names the events (the weights are keyed apart, by the cache's folder)."""
        return f"omnishapes-{self.seed}-{self.n}"

    def item_of(self, modality: str, rows: list[int]) -> list[int]:
        """Every modality has a row for every event: row i is event i."""
        return list(rows)

    def to_tensors(self) -> dict[str, torch.Tensor]:
        out = {f"label/{k}": v.cpu().contiguous() for k, v in self.labels.items()}
        for m, spaces in self.embeddings.items():
            out.update({f"emb/{m}/{s}": v.contiguous() for s, v in spaces.items()})
        return out


def weights_fingerprint(checkpoint: Path) -> str:
    """The weights' hash and the world's version: what a cache of rendered events embedded by them depends on."""
    digest = hashlib.sha256(f"world {WORLD_VERSION}".encode())
    with open(Path(checkpoint) / "model.safetensors", "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


@torch.no_grad()
def build_gallery(model: OmniVec, n: int, seed: int = GALLERY_SEED, chunk: int = 128) -> Gallery:
    batch = OmniShapes().render(n, seed=seed, device=next(model.parameters()).device)
    embedded = embed_batch(model, batch, chunk=chunk)
    return Gallery(seed, n, {k: v.cpu() for k, v in batch.labels.items()}, [row[0] for row in batch[CAPTIONS]], embedded)


def cache_path(checkpoint: Path, n: int, seed: int) -> Path:
    return Path(checkpoint) / f"gallery-{seed}-{n}.safetensors"


def load_or_build_gallery(model: OmniVec, checkpoint: Path | None, n: int, seed: int = GALLERY_SEED) -> Gallery:
    """The cached gallery if it was made from these exact weights, else a fresh one (then cached)."""
    if checkpoint is None:
        return build_gallery(model, n, seed)
    path, fingerprint = cache_path(checkpoint, n, seed), weights_fingerprint(checkpoint)
    if path.is_file():
        try:
            tensors = load_file(path)
            with safe_open(path, "pt") as handle:
                meta = handle.metadata() or {}
            if meta.get("weights") == fingerprint:
                return _from_tensors(tensors, json.loads(meta["captions"]), n, seed)
        except Exception as error:  # a damaged cache is rebuilt, and the log says so
            log.warning("gallery cache %s unusable (%s); rebuilding", path, error)
    gallery = build_gallery(model, n, seed)
    try:
        metadata = {"weights": fingerprint, "captions": json.dumps(gallery.captions)}
        atomic_write(path, lambda temp: save_file(gallery.to_tensors(), temp, metadata=metadata))
    except OSError as error:
        log.warning("could not cache the gallery at %s: %s", path, error)
    return gallery


def _from_tensors(tensors: dict[str, torch.Tensor], captions: list[str], n: int, seed: int) -> Gallery:
    labels, embeddings = {}, {}
    for key, value in tensors.items():
        parts = key.split("/")
        if parts[0] == "label":
            labels[parts[1]] = value
        else:
            embeddings.setdefault(parts[1], {})[parts[2]] = value
    return Gallery(seed, n, labels, captions, embeddings)
