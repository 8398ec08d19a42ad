"""Folder datasets: a folder of the user's own media read as items of model inputs, with labels,
a train/test split and captions. Every file goes through `data.readers` (no decoder of its own);
a file that cannot be used is listed in `skipped` with the reason, and never stops the scan.

    from omnivec_core.data.folders import scan_folder
    ds = scan_folder("UCF-101")          # FolderDataset(layout="clips", items=[FolderItem, ...], ...)
    print(ds.report())
    python -m omnivec_core.data.folders DIR          # the same from a shell, with a progress bar

Layout rules (first match wins; hidden files and folders are ignored):
  "sounds"  a metadata CSV at the root or in `meta/` or `metadata/` with a file-name column (filename,
            file, path, slice_file_name, ...) and a class column (category, label, class) naming files
            of the folder (ESC-50, UrbanSound8K); labels come from it, an optional `split` column gives
            the split; files it does not name get no label. Also class folders of audio files.
  "clips"   most media files are videos and lie in class folders (UCF-101, HMDB-51)
  "images"  most media files are images and lie in class folders
  "meshes"  most media files are meshes or point files and lie in class folders, with or without
            train/ and test/ inside (ModelNet: chair/train/chair_0001.off)
  "flat"    anything else (no labels)
"Class folders": the label of a file is its nearest enclosing folder that is not a split folder
(train/test/val...) nor `depth`; at least two classes, and at least half the files of the most
common kind have one. Split: an enclosing train/ or test/ (val/ and validation/ count as test)
folder, else the CSV's split column, else a deterministic held-out split of ~20 % by the hash of
the path (UCF-style names `v_X_g01_c02` by their group, so no group straddles the split), in which a
class the hash left untested but with two groups or more holds out its group of lowest hash.

Items: a video gives video + audio (its sound track, when it has one) + image (its first frame);
an audio file audio; an image image; a mesh or point file points; an IMU trace imu; each exactly as
the registry's `from_loaded` makes it (audio: the (1, 64, 64) log-mel the model takes). Files in
one folder with the same name stem and different modalities (clip.mp4 + clip.off) are one item.
Depth: a picture in a folder named `depth` or named `*_depth.png` (16-bit PNGs welcome) is the
depth map of the item with the same stem in the same folder, in the depth folder's parent or its
other sub-folders (rgb/0001.png + depth/0001.png), else an item of its own.
Captions: `captions.csv` (file,caption; header optional), `captions.txt` (file<TAB>caption) or
`captions.jsonl` ({"file": ..., "caption": ...}) at the root, any number of rows a file, name the
file by relative path, basename or stem.

Cache: decoded inputs are stored as safetensors in `cache_dir` (default $OMNIVEC_CACHE/folders or
~/.cache/omnivec/folders), keyed by the sha256 of the file's content, the preprocessing version
(input sizes), the reader limits and the file's role (depth or not); unreadable-file verdicts too.
Nothing is ever written into the scanned folder.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable

import torch

from . import folder_layouts as fl
from . import readers
from ..io import atomic_write
from ..modalities import CAPTIONS, DEPTH, IMAGE, REGISTRY

log = logging.getLogger(__name__)
MAX_FILES = 200_000
# bump when what a file turns into changes; the input sizes are part of it
PREPROCESSING = "folders/1 " + " ".join(f"{m.name}:{m.channels}x{m.frames}x{m.height}x{m.width}x{m.length}"
                                        for m in REGISTRY.values())
TRANSIENT = {"timeout", "busy", "bad_path", "missing", "outside_roots", "not_a_file"}  # verdicts never cached
LAYOUTS = {"clips": "class folders of videos (UCF-101 / HMDB style)",
           "sounds": "audio files with class labels (ESC-50 style metadata CSV or class folders)",
           "meshes": "class folders of meshes or point clouds (ModelNet style)",
           "images": "class folders of images", "flat": "files without labels"}


@dataclass
class FolderItem:
    path: str                  # relative to the dataset root, POSIX (the item's first file)
    label: str | None          # class name, None when the layout or the CSV gives none
    split: str                 # "train" or "test"
    inputs: dict[str, object]  # modality -> model input without batch dimension
    captions: list[str]        # [] when no captions file names it
    files: list[str] = field(default_factory=list)  # every file of the item (path first)
    notes: list[str] = field(default_factory=list)  # what the readers did to its files


@dataclass
class Skipped:
    path: str    # relative to the dataset root
    reason: str  # the reader's MediaError message, or another clear cause


@dataclass
class FolderDataset:
    root: Path
    layout: str
    items: list[FolderItem]
    skipped: list[Skipped]
    classes: list[str]
    notes: list[str] = field(default_factory=list)  # captions or metadata problems, depth conventions...
    files: int = 0    # files looked at (captions and metadata files not counted)
    cached: int = 0   # of those, how many came from the cache

    def split(self, name: str) -> list[FolderItem]:
        if name not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', not {name!r}")
        return [item for item in self.items if item.split == name]

    def modalities(self) -> list[str]:
        """Modalities some item holds, in registry order (the captions' modality when any item has one)."""
        have = {m for item in self.items for m in item.inputs}
        if any(item.captions for item in self.items):
            have.add(CAPTIONS)
        return [m for m in REGISTRY if m in have]

    def report(self, max_listed: int = 100) -> str:
        train, test = len(self.split("train")), len(self.split("test"))
        lines = [f"## Folder dataset `{self.root.name}`", "",
                 f"- layout: **{self.layout}**: {LAYOUTS.get(self.layout, self.layout)}",
                 f"- {len(self.items)} items from {self.files} files ({len(self.skipped)} skipped); "
                 f"{train} train, {test} test",
                 f"- {len(self.classes)} classes" + ("" if self.classes else " (no labels)"),
                 f"- read from the cache: {self.cached} of {self.files} files"]
        counts = Counter(m for item in self.items for m in item.inputs)
        with_captions = [item for item in self.items if item.captions]
        if with_captions:
            counts[CAPTIONS] = len(with_captions)
        if counts:
            lines += ["", "| modality | items |", "|---|---|"]
            lines += [f"| {m}{' (captions)' if m == CAPTIONS else ''} | {counts[m]} |" for m in REGISTRY
                      if counts[m]]
        if with_captions:
            lines += ["", f"{sum(len(i.captions) for i in with_captions)} captions on {len(with_captions)} items"]
        if self.classes:
            per = Counter((item.label, item.split) for item in self.items)
            lines += ["", "| class | items | train | test |", "|---|---|---|---|"]
            lines += [f"| {c} | {per[c, 'train'] + per[c, 'test']} | {per[c, 'train']} | {per[c, 'test']} |"
                      for c in self.classes]
            unlabelled = sum(item.label is None for item in self.items)
            if unlabelled:
                lines += ["", f"{unlabelled} items have no label"]
            untested = [c for c in self.classes if not per[c, "test"]]
            if untested and self.layout != "meshes":
                lines += ["", f"{len(untested)} classes have no test item: a class of one file (or one UCF group) "
                              "is all training; a train/ and test/ folder or a split column decides otherwise"]
        if self.skipped:
            lines += ["", f"### Skipped files ({len(self.skipped)})", ""]
            lines += [f"- `{s.path}`: {s.reason}" for s in self.skipped[:max_listed]]
            if len(self.skipped) > max_listed:
                lines.append(f"- ... and {len(self.skipped) - max_listed} more")
        if self.notes:
            lines += ["", "### Notes", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)


def default_cache_dir() -> Path:
    return Path(os.environ.get("OMNIVEC_CACHE") or Path.home() / ".cache" / "omnivec") / "folders"


def scan_folder(root, *, cache_dir: Path | None = None, progress: Callable[[int, int], None] | None = None,
                limits: readers.ReaderLimits = readers.LIMITS, max_files: int = MAX_FILES) -> FolderDataset:
    """Read every file under `root` into a FolderDataset (see the module docstring for the rules).
    `progress(done, total)` is called after each file. A missing root or one that is not a folder
    raises MediaError; a bad file is only listed in `skipped`."""
    given = Path(os.fspath(root)).expanduser()
    if not given.is_dir():
        raise readers.MediaError(f"{given.name or given}: {'not a folder' if given.exists() else 'folder not found'}",
                                 code="not_a_folder", name=given.name)
    root = given.resolve()
    cache = _Cache(Path(cache_dir) if cache_dir is not None else default_cache_dir(), limits)
    try:
        files = fl.list_files(root, exclude=cache.dir.resolve(), max_files=max_files)
    except ValueError as e:
        raise readers.MediaError(str(e), code="too_many_files", name=root.name) from None
    caption_files, captions, notes = fl.read_captions(root, files)
    meta = fl.find_metadata(root, files)
    special = set(caption_files) | ({meta.path} if meta else set())
    media = [f for f in files if f not in special]
    layout = fl.detect_layout(media, meta)
    read, skipped = [], []
    for done, rel in enumerate(media, 1):
        try:
            inputs, file_notes = _read_file(root, rel, cache, limits)
            read.append((rel, inputs, file_notes))
        except readers.MediaError as e:
            why = f"{e.name} is a link to a file outside the dataset folder" if e.code == "outside_roots" else str(e)
            skipped.append(Skipped(rel, why))
        except Exception as e:  # noqa: BLE001 - one odd file never stops the scan
            log.warning("unexpected error reading %s", rel, exc_info=True)
            skipped.append(Skipped(rel, f"{PurePosixPath(rel).name}: unexpected error ({type(e).__name__}: "
                                        f"{str(e)[:100]})"))
        if progress is not None:
            progress(done, len(media))
    items = []
    for group in fl.group_files(read, DEPTH):
        first = group[0][0]
        caps = list(dict.fromkeys(c for rel, _, _ in group for c in fl.captions_for(rel, captions)))
        inputs = {m: x for _, got, _ in group for m, x in got.items()}
        item_notes = [f"{PurePosixPath(rel).name}: {n}" for rel, _, got_notes in group for n in got_notes]
        items.append(FolderItem(first, layout.label(first), layout.split(first), inputs, caps,
                                [rel for rel, _, _ in group], item_notes))
    items.sort(key=lambda item: item.path)
    fl.hold_out_every_class([item for item in items if layout.given_split(item.path) is None])
    used = {k for item in items for rel in item.files for k in fl.lookup_keys(rel)}
    unmatched = [k for k in captions if k not in used]
    if unmatched:
        notes.append(f"captions name {len(unmatched)} file(s) that gave no item, e.g. {unmatched[0]!r}")
    if meta is not None:
        notes.append(f"labels from {meta.path}")
    if any(DEPTH in item.inputs for item in items):
        notes.append("depth maps are read as the depth modality's from_loaded gives them: scaled to [0, 1] by "
                     "their own min and max, larger values brighter")
    if cache.failed:
        notes.append(f"the cache at {cache.dir} could not be written ({cache.failed}); nothing was cached")
    classes = sorted({item.label for item in items if item.label is not None})
    return FolderDataset(root, layout.name, items, skipped, classes, notes, len(media), cache.hits)


# ---------------------------------------------------------------- one file


def _read_file(root: Path, rel: str, cache: "_Cache", limits) -> tuple[dict[str, torch.Tensor], list[str]]:
    """One file -> (modality -> model input, notes), from the cache when its content was read before."""
    path = readers.check_file(root / rel, limits, allowed_roots=[root])  # empty, too large, outside the root
    if readers.kind_of(path) is None:
        readers.read_any(path, limits, allowed_roots=[root])  # raises "unsupported file type", decodes nothing
    role = DEPTH if fl.is_depth(rel) and DEPTH in REGISTRY else "media"
    key = cache.key(_sha256(path), role)
    hit = cache.get(key)
    if isinstance(hit, readers.MediaError):
        raise hit
    if hit is not None:
        return hit
    try:
        loaded = readers.read_any(path, limits, allowed_roots=[root])
        inputs, notes = model_inputs(loaded, role)
    except readers.MediaError as e:
        if e.code not in TRANSIENT:
            cache.put_error(key, e)
        raise
    cache.put(key, inputs, notes)
    return inputs, notes


def model_inputs(loaded: readers.Loaded, role: str = "media") -> tuple[dict[str, torch.Tensor], list[str]]:
    """What one read file gives, as the registry's `from_loaded` makes it: every modality that reads
    its kind (a clip: video and its sound track), a clip's first frame as the image, and only the depth
    map for a picture in the depth role."""
    notes = list(loaded.notes)
    if role == DEPTH and loaded.kind == readers.PICTURE:
        x, notes = REGISTRY[DEPTH].from_loaded(loaded)
        return {DEPTH: _tensor(x)}, notes
    inputs = {}
    for spec in REGISTRY.values():
        if spec.name != DEPTH and loaded.kind in spec.reads:
            try:
                inputs[spec.name] = _tensor(spec.from_loaded(loaded)[0])
            except readers.MediaError as e:
                if e.code != "no_audio":  # the reader's notes already say "no audio track"
                    notes.append(f"no {spec.name}: {e}")
    if loaded.kind == readers.CLIP and IMAGE in REGISTRY:
        still = readers.Loaded(readers.PICTURE, loaded.tensor[0].clone(), None, [], loaded.name)
        inputs[IMAGE] = _tensor(REGISTRY[IMAGE].from_loaded(still)[0])
        notes.append("image: the clip's first frame")
    if not inputs:
        raise readers.MediaError(f"{loaded.name} holds {loaded.kind}, which no modality reads", code="no_modality",
                                 name=loaded.name)
    return inputs, notes


def _tensor(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float32).contiguous()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- cache


class _Cache:
    """Decoded inputs (or the reason a file is unusable) as one safetensors file per file content."""

    def __init__(self, directory: Path, limits: readers.ReaderLimits):
        self.dir = Path(directory).expanduser()
        self.salt = f"{PREPROCESSING}\0{limits!r}"
        self.hits = 0
        self.failed: str | None = None

    def key(self, digest: str, role: str) -> str:
        return hashlib.sha256(f"{self.salt}\0{role}\0{digest}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.safetensors"

    def get(self, key: str):
        """(inputs, notes), a MediaError for a file known to be unusable, or None when not cached."""
        from safetensors import SafetensorError, safe_open

        path = self._path(key)
        if not path.is_file():
            return None
        try:
            with safe_open(str(path), "pt") as handle:
                meta = handle.metadata() or {}
                tensors = {name: handle.get_tensor(name) for name in handle.keys()}
            if meta.get("version") != PREPROCESSING:
                return None
            self.hits += 1
            if "error" in meta:
                return readers.MediaError(meta["error"], code=meta.get("code", "invalid"), name=meta.get("name", ""))
            return tensors, json.loads(meta.get("notes", "[]"))
        except (OSError, ValueError, SafetensorError) as e:  # damaged: read the file again
            log.warning("folder cache entry %s unusable (%s); decoding again", path, e)
            return None

    def put(self, key: str, inputs: dict[str, torch.Tensor], notes: list[str]) -> None:
        self._write(key, inputs, {"notes": json.dumps(notes)})

    def put_error(self, key: str, error: readers.MediaError) -> None:
        self._write(key, {}, {"error": str(error), "code": error.code, "name": error.name})

    def _write(self, key: str, tensors: dict, meta: dict[str, str]) -> None:
        from safetensors.torch import save_file

        if self.failed:
            return
        try:
            atomic_write(self._path(key), lambda temp: save_file(tensors, temp,
                                                                 metadata={"version": PREPROCESSING, **meta}))
        except OSError as e:
            self.failed = f"{type(e).__name__}: {e}"[:200]
            log.warning("cannot write the folder cache in %s: %s", self.dir, e)


# ---------------------------------------------------------------- command line


def main(argv=None) -> int:
    from tqdm import tqdm

    parser = argparse.ArgumentParser(
        prog="python -m omnivec_core.data.folders",
        description="Read a folder of your own media as an OmniVec dataset and print what was found: the layout "
                    "(class folders of clips, images or meshes, sounds with a metadata CSV, or flat), items per "
                    "modality and class, and every skipped file with the reason. Decoded files are cached, so a "
                    "second scan is fast; nothing is written into the folder.")
    parser.add_argument("folder", type=Path, help="the dataset folder")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help=f"where decoded files are cached (default {default_cache_dir()}; "
                             "set OMNIVEC_CACHE to move ~/.cache/omnivec)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with tqdm(total=0, unit="file", desc="reading", disable=args.quiet, file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
        try:
            ds = scan_folder(args.folder, cache_dir=args.cache_dir, progress=progress)
        except readers.MediaError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    print(ds.report())
    print(f"\nscanned in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
