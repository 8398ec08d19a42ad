"""How `folders.scan_folder` reads a folder's structure: which files are media, which layout the
folder has, each file's label and split, the metadata CSV and the captions files. Nothing here
decodes media (that is `data.readers`' job); see `folders` for the rules in words."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import readers
from ..modalities import DEPTH

SPLIT_DIRS = {"train": "train", "training": "train", "test": "test", "testing": "test", "val": "test",
              "valid": "test", "validation": "test"}
DEPTH_DIR = DEPTH  # a folder of depth maps bears the modality's name
DEPTH_SUFFIX = "_depth"
CAPTION_FILES = ("captions.csv", "captions.txt", "captions.jsonl")
META_DIRS = ("", "meta", "metadata")
FILE_COLUMNS = ("filename", "file", "file_name", "fname", "path", "slice_file_name", "name")
LABEL_COLUMNS = ("category", "label", "class", "class_name", "classname")
CAPTION_KEYS = ("file", "filename", "path", "video", "video_id", "image", "id", "name")
CAPTION_TEXT = ("caption", "captions", "text", "sentence", "description")
HELD_OUT_PERCENT = 20
# the kind of most media files -> layout name, when the files lie in class folders
LAYOUT_OF_KIND = {readers.CLIP: "clips", readers.SOUND: "sounds", readers.PICTURE: "images", readers.CLOUD: "meshes"}
KIND_ORDER = (readers.CLIP, readers.SOUND, readers.PICTURE, readers.CLOUD, readers.TRACE)
_GROUP = re.compile(r"^(.*_g\d+)_c\d+$")  # UCF-101 / HMDB clip names: v_Class_g01_c02 -> one group per g


def list_files(root: Path, exclude: Path | None = None, max_files: int | None = None) -> list[str]:
    """Every file under `root` (links to files too), as sorted POSIX paths relative to it. Hidden files
    and folders (a leading ".") and `exclude` are left out; folder links are not followed. More than
    `max_files` files raise ValueError."""
    out: list[str] = []
    for here, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX"
                         and (exclude is None or Path(here, d) != exclude))
        rel = Path(here).relative_to(root)
        out += [(rel / f).as_posix() for f in files if not f.startswith(".")]
        if max_files is not None and len(out) > max_files:
            raise ValueError(f"{root.name} holds more than {max_files:,} files; choose a smaller folder")
    return sorted(out)


def parts(rel: str) -> tuple[str, ...]:
    return PurePosixPath(rel).parts


def is_depth(rel: str) -> bool:
    """A picture read as a depth map: in a folder named `depth` or named `*_depth.<image ext>`."""
    p = PurePosixPath(rel)
    return readers.kind_of(rel) == readers.PICTURE and (DEPTH_DIR in (d.lower() for d in p.parts[:-1])
                                                 or p.stem.lower().endswith(DEPTH_SUFFIX))


def folder_label(rel: str) -> str | None:
    """The nearest enclosing folder that is neither a split folder (train/test/...) nor `depth`."""
    for d in reversed(parts(rel)[:-1]):
        if d.lower() not in SPLIT_DIRS and d.lower() != DEPTH_DIR:
            return d
    return None


def folder_split(rel: str) -> str | None:
    for d in reversed(parts(rel)[:-1]):
        if d.lower() in SPLIT_DIRS:
            return SPLIT_DIRS[d.lower()]
    return None


def split_key(rel: str) -> str:
    """What the hash split hashes: the path, or for clips named like UCF-101's (`v_X_g01_c02`) their group,
    so one group never straddles the split."""
    p = PurePosixPath(rel)
    m = _GROUP.match(p.stem)
    return str(p.parent / m.group(1)) if m else rel


def key_hash(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def hash_split(rel: str) -> str:
    """A deterministic held-out split (~20 % "test") by the hash of the path (see split_key)."""
    return "test" if key_hash(split_key(rel)) % 100 < HELD_OUT_PERCENT else "train"


def hold_out_every_class(hashed: list) -> None:
    """Items split by hash (`.path`, `.label`, `.split`, changed in place): a class the hash left without a
    test item, but with at least two groups, gives its group of lowest hash to the test split, so a
    small folder is still evaluated on every class."""
    by_class: dict[str, list] = {}
    for item in hashed:
        if item.label is not None:
            by_class.setdefault(item.label, []).append(item)
    for items in by_class.values():
        groups = {split_key(item.path) for item in items}
        if len(groups) < 2 or any(item.split == "test" for item in items):
            continue
        chosen = min(groups, key=lambda key: (key_hash(key), key))
        for item in items:
            if split_key(item.path) == chosen:
                item.split = "test"


def lookup_keys(rel: str) -> list[str]:
    """The names a CSV or captions file may use for a file: its relative path, that without the
    extension, its basename, the basename without the extension."""
    p = PurePosixPath(rel)
    return list(dict.fromkeys([rel, str(p.with_suffix("")), p.name, p.stem]))


# ---------------------------------------------------------------- metadata CSV (ESC-50 style)

@dataclass
class Metadata:
    path: str                                   # relative path of the CSV
    labels: dict[str, str]                      # file name (as in the CSV) -> category
    splits: dict[str, str] = field(default_factory=dict)  # file name -> "train" | "test" (a split column)

    def find(self, rel: str, table: dict[str, str]) -> str | None:
        return next((table[k] for k in lookup_keys(rel) if k in table), None)


def _rows(text: str) -> list[list[str]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [r for r in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in r)]


def _read_text_file(path: Path, limit: int = 20 * 2**20) -> str:
    if path.stat().st_size > limit:
        raise ValueError(f"{path.name} is larger than {limit // 2**20} MB")
    return path.read_text(encoding="utf-8-sig")


def find_metadata(root: Path, files: list[str]) -> Metadata | None:
    """The first CSV at the root or in `meta/` or `metadata/` with a file-name column and a class column
    (ESC-50's filename/category, UrbanSound8K's slice_file_name/class) that names a file of the folder."""
    names = set()
    for f in files:
        names.update(lookup_keys(f))
    for rel in files:
        p = PurePosixPath(rel)
        if p.suffix.lower() != ".csv" or str(p.parent) not in (".",) + META_DIRS[1:] or p.name in CAPTION_FILES:
            continue
        try:
            rows = _rows(_read_text_file(root / rel))
        except (OSError, ValueError, UnicodeDecodeError, csv.Error):
            continue
        if len(rows) < 2:
            continue
        header = [c.strip().lower() for c in rows[0]]
        fcol = next((header.index(c) for c in FILE_COLUMNS if c in header), None)
        lcol = next((header.index(c) for c in LABEL_COLUMNS if c in header), None)
        if fcol is None or lcol is None:
            continue
        scol = header.index("split") if "split" in header else None
        labels, splits = {}, {}
        for row in rows[1:]:
            if len(row) <= max(fcol, lcol):
                continue
            name, label = row[fcol].strip().replace("\\", "/"), row[lcol].strip()
            if name and label:
                labels[name] = label
                if scol is not None and len(row) > scol and row[scol].strip().lower() in SPLIT_DIRS:
                    splits[name] = SPLIT_DIRS[row[scol].strip().lower()]
        if names.intersection(labels):
            return Metadata(rel, labels, splits)
    return None


# ---------------------------------------------------------------- captions

def read_captions(root: Path, files: list[str]) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """Captions files at the root -> (their relative paths, file name -> cleaned captions, problems).

    captions.csv: rows `file,caption` (a header row optional; extra commas stay in the caption);
    captions.txt: lines `file<TAB>caption`, else `file,caption`, else `file caption` (# starts a comment);
    captions.jsonl: one object a line, {"file": ..., "caption": "..." or [...]}. A file may have many rows."""
    found = [f for f in CAPTION_FILES if f in files]
    table: dict[str, list[str]] = {}
    problems: list[str] = []
    for name in found:
        try:
            pairs = _caption_pairs(name, _read_text_file(root / name))
        except (OSError, ValueError, UnicodeDecodeError, csv.Error) as e:
            problems.append(f"{name} could not be read ({str(e)[:100] or type(e).__name__})")
            continue
        bad = 0
        for key, caption in pairs:
            try:
                text = readers.read_text(caption).tensor
            except readers.MediaError:
                bad += 1
                continue
            table.setdefault(key.strip().replace("\\", "/"), []).append(text)
        if bad:
            problems.append(f"{name}: {bad} caption(s) left out (empty, too long or without letters)")
    return found, table, problems


def _caption_pairs(name: str, text: str) -> list[tuple[str, str]]:
    pairs = []
    if name.endswith(".csv"):
        rows = list(csv.reader(io.StringIO(text)))
        rows = [r for r in rows if len(r) >= 2 and r[0].strip()]
        if rows and rows[0][0].strip().lower() in CAPTION_KEYS and rows[0][1].strip().lower() in CAPTION_TEXT:
            rows = rows[1:]
        pairs = [(r[0], ",".join(r[1:])) for r in rows]
    elif name.endswith(".txt"):
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            for sep in ("\t", ",", None):
                bits = line.split(sep, 1)
                if len(bits) == 2:
                    pairs.append((bits[0], bits[1]))
                    break
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"line {number} is not JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                continue
            key = next((obj[k] for k in CAPTION_KEYS if isinstance(obj.get(k), (str, int))), None)
            value = next((obj[k] for k in CAPTION_TEXT if k in obj), None)
            values = value if isinstance(value, list) else [value]
            pairs += [(str(key), v) for v in values if key is not None and isinstance(v, str)]
    return pairs


def captions_for(rel: str, table: dict[str, list[str]]) -> list[str]:
    """Every caption naming the file by any of its `lookup_keys`, in file order, without repeats."""
    return list(dict.fromkeys(c for k in lookup_keys(rel) for c in table.get(k, ())))


# ---------------------------------------------------------------- layout

@dataclass
class Layout:
    name: str
    labelled: bool            # labels come from class folders (or the metadata CSV)
    meta: Metadata | None

    def label(self, rel: str) -> str | None:
        if self.meta is not None:
            return self.meta.find(rel, self.meta.labels)
        return folder_label(rel) if self.labelled else None

    def given_split(self, rel: str) -> str | None:
        """The split a train/test folder or the CSV's split column gives; None: the hash decides."""
        from_meta = self.meta.find(rel, self.meta.splits) if self.meta is not None else None
        return folder_split(rel) or from_meta

    def split(self, rel: str) -> str:
        return self.given_split(rel) or hash_split(rel)


def detect_layout(media: list[str], meta: Metadata | None) -> Layout:
    """The folder's layout from its media files (see the rules in `folders`)."""
    if meta is not None:
        return Layout("sounds", True, meta)
    plain = [f for f in media if not is_depth(f) and readers.kind_of(f) is not None]
    kinds = Counter(readers.kind_of(f) for f in plain)
    if not kinds:
        return Layout("flat", False, None)
    dominant = max(kinds, key=lambda k: (kinds[k], -KIND_ORDER.index(k)))
    labels = [folder_label(f) for f in plain if readers.kind_of(f) == dominant]
    named = [x for x in labels if x is not None]
    if dominant in LAYOUT_OF_KIND and len(set(named)) >= 2 and len(named) * 2 >= len(labels):
        return Layout(LAYOUT_OF_KIND[dominant], True, None)
    return Layout("flat", False, None)


def group_files(read: list[tuple[str, dict, list]], depth: str = DEPTH) -> list[list[tuple[str, dict, list]]]:
    """(relative path, inputs, notes) of each read file -> the files of each item: files in one folder with
    the same stem and disjoint modalities make one item; a depth map (inputs only `depth`) joins the item
    of its picture (see `folders`), else is an item of its own."""
    groups: list[list] = []
    by_stem: dict[str, list[list]] = {}
    depths = []
    for entry in read:
        rel, inputs, _ = entry
        if set(inputs) == {depth}:
            depths.append(entry)
            continue
        p = PurePosixPath(rel)
        twin = next((g for g in by_stem.get(p.stem, []) if PurePosixPath(g[0][0]).parent == p.parent
                     and not any(set(inputs) & set(e[1]) for e in g)), None)
        if twin is not None:
            twin.append(entry)
        else:
            groups.append([entry])
            by_stem.setdefault(p.stem, []).append(groups[-1])
    for entry in depths:
        p = PurePosixPath(entry[0])
        stem = p.stem[:-len(DEPTH_SUFFIX)] if p.stem.lower().endswith(DEPTH_SUFFIX) else p.stem
        dirs = [d.lower() for d in p.parts[:-1]]
        if DEPTH_DIR in dirs:  # base/depth/x.png pairs with base/x.* or base/<other>/x.*
            base = PurePosixPath(*p.parts[:len(dirs) - dirs[::-1].index(DEPTH_DIR) - 1])
            fits = lambda d: d == base or d.parent == base  # noqa: E731
        else:
            fits = lambda d: d == p.parent  # noqa: E731
        partner = next((g for g in by_stem.get(stem, []) if fits(PurePosixPath(g[0][0]).parent)
                        and not any(depth in e[1] for e in g)), None)
        if partner is not None:
            partner.append(entry)
        else:
            groups.append([entry])
    return groups
