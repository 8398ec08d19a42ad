"""A gallery of the user's own media: every item of a folder dataset (see data/folders.py) embedded by
the loaded model, so retrieval and maps work on it as on OmniShapes.

Items need not hold every modality (a sound folder has only audio, a mesh folder only points), so each
modality's embeddings are rows of its own, and `rows[m]` names the item of each row. The embeddings
are cached as safetensors in the cache directory, keyed by the model's weights and by every file's
path, size and modification time: a second start with the same folder and model reads them back, a
changed file or model builds them again.

    python -m omnivec_core.analysis.folder_gallery DIR [--checkpoint CKPT]   # index DIR, print the report
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..data.folders import FolderDataset, FolderItem, default_cache_dir, scan_folder
from ..io import atomic_write
from ..modalities import CAPTIONS
from ..model import OmniVec
from ..train.checkpoint import CheckpointError, load_model
from .embeddings import embed_modality
from .gallery import weights_fingerprint

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]


def cache_root() -> Path:
    """Where folder scans and galleries are cached (never in the folder): the parent of the scans' cache,
    OMNIVEC_CACHE or ~/.cache/omnivec."""
    return default_cache_dir().parent


def read_folder(root: Path):
    """Scan a folder once with a progress bar (decoded files are cached for the trainer) and print its report
    to stderr."""
    from tqdm import tqdm

    if not root.is_dir():
        raise ValueError(f"--data {root} is not a folder")
    with tqdm(desc=f"reading {root.name}", unit="file") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
        dataset = scan_folder(root, progress=progress)
    print(dataset.report(), file=sys.stderr)  # beside the progress bar, so stdout stays the command's result
    return dataset


@dataclass
class FolderGallery:
    dataset: FolderDataset
    embeddings: dict[str, dict[str, torch.Tensor]]  # modality -> space | "vector" | "stem" -> (rows, d)
    rows: dict[str, torch.Tensor]                   # modality -> (rows,) item index of each row
    key: str                                        # changes with the folder's files and the model's weights
    seed = None                                     # not rendered from a seed

    @property
    def n(self) -> int:
        return len(self.dataset.items)

    @property
    def captions(self) -> list[str]:
        """What the app writes beside each item: its first caption, else its class, and its file."""
        return [f"{item.captions[0] if item.captions else item.label or 'no label'} ({item.path})"
                for item in self.dataset.items]

    @property
    def labels(self) -> dict[str, torch.Tensor]:
        """"class" -> (n,) index into dataset.classes, -1 for an item without a label."""
        index = {name: i for i, name in enumerate(self.dataset.classes)}
        return {"class": torch.tensor([index.get(item.label, -1) for item in self.dataset.items])}

    def item_of(self, modality: str, rows: list[int]) -> list[int]:
        return self.rows[modality][rows].tolist()

    def item_input(self, item: int, modality: str):
        """The model input of one item as a batch of one (captions: [its first caption])."""
        found = self.dataset.items[item]
        if modality == CAPTIONS:
            return found.captions[:1]
        return torch.as_tensor(found.inputs[modality])[None]


def gallery_inputs(model: OmniVec, items: list[FolderItem]) -> dict[str, tuple[list[int], object]]:
    """modality -> (item indices, stacked inputs) for every modality of the model some item holds."""
    out = {}
    for m in model.cfg.modalities:
        if m == CAPTIONS:
            chosen = [i for i, item in enumerate(items) if item.captions]
            values = [items[i].captions[0] for i in chosen]
        else:
            chosen = [i for i, item in enumerate(items) if m in item.inputs]
            values = torch.stack([torch.as_tensor(items[i].inputs[m]) for i in chosen]) if chosen else None
        if chosen:
            out[m] = (chosen, values)
    return out


@torch.no_grad()
def build_folder_gallery(model: OmniVec, dataset: FolderDataset, progress: Progress | None = None,
                         chunk: int = 64, key: str = "unsaved") -> FolderGallery:
    """Embed every item in every modality it holds; `key` names the weights (a fingerprint)."""
    if not dataset.items:
        raise ValueError(f"{dataset.root} holds no file the model can read ({len(dataset.skipped)} skipped)")
    device = next(model.parameters()).device
    embeddings, rows = {}, {}
    plan = gallery_inputs(model, dataset.items)
    if not plan:
        raise ValueError(f"no item of {dataset.root} is in a modality of this model ({list(model.cfg.modalities)})")
    for step, (m, (chosen, values)) in enumerate(plan.items()):
        if progress:
            progress(step / len(plan), f"embedding {len(chosen)} {m} inputs")
        values = values.to(device) if torch.is_tensor(values) else values
        embeddings[m] = embed_modality(model, m, values, chunk)
        rows[m] = torch.tensor(chosen)
    return FolderGallery(dataset, embeddings, rows, gallery_key(dataset, key))


def gallery_key(dataset: FolderDataset, fingerprint: str) -> str:
    """Changes with the model's weights and with any file's path, size or modification time."""
    digest = hashlib.sha256(fingerprint.encode())
    for item in dataset.items:
        stat = (dataset.root / item.path).stat()
        digest.update(f"{item.path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{item.label}\0{item.captions}\n".encode())
    return digest.hexdigest()[:24]


def load_folder_gallery(model: OmniVec, checkpoint: Path | None, root: Path, progress: Progress | None = None,
                        cache: Path | None = None) -> FolderGallery:
    """Scan `root` (decoded files cached), then the cached embeddings if the folder and the model are
    unchanged, else embed it and cache the result."""
    cache = Path(cache or cache_root())

    def scanned(done: int, total: int) -> None:
        if progress:
            progress(0.8 * done / max(total, 1), f"reading file {done} of {total}")

    dataset = scan_folder(root, cache_dir=cache / "folders", progress=scanned)
    fingerprint = weights_fingerprint(checkpoint) if checkpoint is not None else None
    key = gallery_key(dataset, fingerprint or "unsaved")
    path = cache / "galleries" / f"{key}.safetensors" if fingerprint else None
    if path is not None and path.is_file():
        try:
            return _from_file(dataset, path, key)
        except (OSError, ValueError, KeyError) as error:  # a damaged cache is rebuilt, and the log says so
            log.warning("folder gallery cache %s unusable (%s); rebuilding", path, error)
    gallery = build_folder_gallery(model, dataset, None if progress is None else
                                   lambda share, text: progress(0.8 + 0.2 * share, text), key=fingerprint or "unsaved")
    if path is not None:
        tensors = {f"rows/{m}": r for m, r in gallery.rows.items()}
        tensors.update({f"emb/{m}/{s}": v.contiguous() for m, spaces in gallery.embeddings.items()
                        for s, v in spaces.items()})
        try:
            atomic_write(path, lambda temp: save_file(tensors, temp, metadata={"root": str(dataset.root)}))
        except OSError as error:
            log.warning("could not cache the folder gallery at %s: %s", path, error)
    return gallery


def _from_file(dataset: FolderDataset, path: Path, key: str) -> FolderGallery:
    tensors = load_file(path)
    with safe_open(path, "pt") as handle:
        json.dumps(handle.metadata())  # a readable header, or the file is damaged
    rows = {name.split("/")[1]: value for name, value in tensors.items() if name.startswith("rows/")}
    embeddings: dict[str, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith("emb/"):
            _, m, space = name.split("/")
            embeddings.setdefault(m, {})[space] = value
    if any(int(r.max()) >= len(dataset.items) for r in rows.values()):
        raise ValueError("rows point past the folder's items")
    return FolderGallery(dataset, embeddings, rows, key)


def main(argv=None) -> int:
    from tqdm import tqdm


    default = Path(__file__).resolve().parents[2] / "checkpoints" / "omnivec-default"
    parser = argparse.ArgumentParser(prog="python -m omnivec_core.analysis.folder_gallery",
                                     description="Embed a folder of your own media with a model, as the app's "
                                                 "gallery does, and print what was read and skipped. The result "
                                                 "is cached, so `python launch.py --gallery DIR` starts at once.")
    parser.add_argument("folder", type=Path, help="a dataset folder (class folders of clips, sounds with a CSV, ...)")
    parser.add_argument("--checkpoint", type=Path, default=default, help=f"model directory (default {default})")
    parser.add_argument("--cache", type=Path, help="cache directory (default $OMNIVEC_CACHE or ~/.cache/omnivec)")
    args = parser.parse_args(argv)
    try:
        model, _ = load_model(args.checkpoint)
        start = time.perf_counter()
        with tqdm(total=100, unit="%", desc="indexing") as bar:
            def progress(share: float, text: str) -> None:
                bar.set_postfix_str(text)
                bar.update(int(share * 100) - bar.n)
            gallery = load_folder_gallery(model, args.checkpoint, args.folder, progress, args.cache)
            bar.update(100 - bar.n)
    except (ValueError, CheckpointError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(gallery.dataset.report())
    counts = ", ".join(f"{m} {len(r)}" for m, r in gallery.rows.items())
    print(f"embedded: {counts} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
