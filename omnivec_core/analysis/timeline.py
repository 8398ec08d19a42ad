"""The timeline of the shared space: while a model trains, snapshots of a fixed probe set of held-out
OmniShapes events embedded in every modality of the model (its joint space and the vectorizer output,
never whole models), kept in OUT/timeline.safetensors; and 2-D projections of the snapshots that are
aligned with each other, so a point moves smoothly from one snapshot to the next instead of jumping.

The file holds safetensors tensors and JSON metadata only (no pickle): `steps` (S,), `label/<attribute>`
(N,), and `<modality>/<space>` (S, N, d) in float16 for each modality and each recorded space (the joint
space, "coarse" or "shared", if the model has one, and "vector"); the metadata key "timeline" names the
probe seed, the modalities, the spaces and the events' captions. The tiny preset's snapshot of 200 events
is 200 x 7 modalities x (64 + 128) values x 2 bytes, about 0.54 MB. The whole file is rewritten
atomically at each snapshot, so a reader sees every snapshot so far or the previous file, never half of one.

Alignment (`aligned_projection`): each snapshot is projected on its own by PCA (the plane of its two largest
directions of variation over every (event, modality) point), then turned by the orthogonal Procrustes
rotation, or reflection, that best maps those coordinates onto the previous snapshot's aligned ones. A PCA
plane has an arbitrary sign and, where two directions vary about equally, an arbitrary rotation; Procrustes
removes exactly that freedom and nothing else, so only real change moves a point: a point set that does not
change keeps its coordinates, and a rotated copy lands back where it was. Scale is not aligned, so a space
that spreads out or contracts is seen doing so (the features are unit vectors, the axes fixed over the run).
Why not one common projection: a PCA fitted on the final snapshot (or on all of them) fixes the axes, but the
early snapshots, whose variance lies in other directions, collapse into a blob; a projection per snapshot
shows each one's own structure. Why the previous snapshot and not the final one: consecutive frames stay
closest (the smoothest scrub), and the frames drawn so far never change when training adds one, so a
timeline that grows during a run keeps its picture.
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data.omnishapes import ATTRIBUTES, OmniShapes
from ..io import atomic_write
from ..modalities import CAPTIONS, REGISTRY
from .embeddings import embed_modality
from .projections import other_modality_share

FILENAME = "timeline.safetensors"
FORMAT = "omnivec-timeline/1"
PROBE_SEED = 5_151_515  # held out: never a training (seed*1000 + rank), evaluation (424242, 31337, quick eval) or gallery seed
PROBE_EVENTS = 200
VECTOR = "vector"


class NoTimeline(FileNotFoundError):
    """The directory holds no timeline file."""


def timeline_path(directory: str | Path) -> Path:
    """OUT/timeline.safetensors of a model or run directory (a path to the file itself is kept)."""
    path = Path(directory).expanduser()
    return path if path.suffix == ".safetensors" else path / FILENAME


def recorded_spaces(model) -> list[str]:
    """The spaces a snapshot keeps: the one every modality shares, if any, and the vectorizer output."""
    joint = model.embedding.joint_space
    return ([joint] if joint else []) + [VECTOR]


@contextmanager
def probe_statistics(model):
    """Evaluation mode, with each batch norm standardising over the probe batch itself (what an exact
    calibration gives) and leaving the run's running statistics untouched; restored on exit."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    was_training, tracked = model.training, [m.track_running_stats for m in norms]
    model.eval()
    for norm in norms:
        norm.train()
        norm.track_running_stats = False  # train mode without buffers: batch statistics, nothing updated
    try:
        yield
    finally:
        for norm, track in zip(norms, tracked):
            norm.track_running_stats = track
        model.train(was_training)  # OmniVec.train keeps held parts in eval mode


@torch.no_grad()
def snapshot(model, inputs: dict[str, object], spaces: list[str]) -> dict[str, torch.Tensor]:
    """`<modality>/<space>` -> (N, d) float16 on the CPU, for the probe's inputs of every modality."""
    out = {}
    with probe_statistics(model):
        for modality, x in inputs.items():
            embedded = embed_modality(model, modality, x, chunk=len(x))  # one chunk: batch statistics over all N
            out.update({f"{modality}/{space}": embedded[space].to(torch.float16).contiguous() for space in spaces})
    return out


class TimelineRecorder:
    """Keeps a run's snapshots and writes them to OUT/timeline.safetensors (the trainer calls `record`)."""

    def __init__(self, out: Path, model, every: int, step: int = 0, resume: bool = False,
                 n: int | None = None, seed: int = PROBE_SEED):
        if every < 1:
            raise ValueError(f"--timeline-every must be at least 1, got {every}")
        self.path, self.every = timeline_path(out), int(every)
        self.modalities, self.spaces = list(model.cfg.modalities), recorded_spaces(model)
        n = int(n or PROBE_EVENTS)
        device = next(model.parameters()).device
        batch = OmniShapes().render(n, seed=seed, modalities=list(dict.fromkeys(self.modalities + [CAPTIONS])),
                                    device=device)  # rendered once; its captions name the points
        self.inputs = {m: REGISTRY[m].batch_input(batch) for m in self.modalities}
        self.meta = {"format": FORMAT, "seed": seed, "events": n, "modalities": self.modalities,
                     "spaces": self.spaces, "joint_space": model.embedding.joint_space, "every": self.every,
                     "captions": [row[0] for row in batch[CAPTIONS]]}
        self.labels = {f"label/{k}": v.cpu().long().contiguous() for k, v in batch.labels.items()}
        self.steps: list[int] = []
        self.snapshots: list[dict[str, torch.Tensor]] = []
        if resume:
            self._keep_earlier(step)

    def _keep_earlier(self, step: int) -> None:
        """On --resume: the snapshots of the same probe up to the resumed step (later ones are taken again)."""
        try:
            old = load_timeline(self.path)
        except (NoTimeline, ValueError):
            return
        if (old.seed, old.n, old.modalities, old.spaces) != (self.meta["seed"], self.meta["events"], self.modalities,
                                                             self.spaces):
            return
        for i, s in enumerate(old.steps.tolist()):
            if s <= step:
                self.steps.append(int(s))
                self.snapshots.append({f"{m}/{space}": torch.from_numpy(old.features[space][m][i].copy())
                                       for m in self.modalities for space in self.spaces})

    def due(self, step: int, total: int) -> bool:
        return step % self.every == 0 or step == total

    def record(self, model, step: int) -> None:
        """Embed the probe with the current weights and rewrite the file; once per step."""
        if self.steps and self.steps[-1] == step:
            return
        self.snapshots.append(snapshot(model, self.inputs, self.spaces))
        self.steps.append(int(step))
        self.write()

    def write(self) -> None:
        write_timeline(self.path, self.meta, self.labels, self.steps, self.snapshots)


def write_timeline(path: Path, meta: dict, labels: dict[str, torch.Tensor], steps: list[int],
                   snapshots: list[dict[str, torch.Tensor]]) -> None:
    """Write every snapshot so far, atomically: `steps`, `label/<attribute>`, `<modality>/<space>` (S, N, d)."""
    from safetensors.torch import save_file

    tensors = {"steps": torch.tensor(steps, dtype=torch.int64), **labels}
    for key in snapshots[0]:
        tensors[key] = torch.stack([s[key] for s in snapshots]).contiguous()
    metadata = {"timeline": json.dumps(meta)}
    atomic_write(path, lambda temp: save_file(tensors, temp, metadata=metadata))


# ---------------------------------------------------------------------------------- reading

@dataclass
class Timeline:
    path: Path
    steps: np.ndarray                                  # (S,) training step of each snapshot
    modalities: list[str]
    spaces: list[str]
    joint_space: str | None
    seed: int
    n: int                                             # probe events
    labels: dict[str, np.ndarray]                      # attribute -> (N,) class ids
    captions: list[str]                                # first caption of each event
    features: dict[str, dict[str, np.ndarray]]         # space -> modality -> (S, N, d) float16
    every: int | None = None

    def __len__(self) -> int:
        return len(self.steps)

    def stack(self, space: str) -> np.ndarray:
        """(S, N * M, d) float64 unit vectors: every (event, modality) point of each snapshot, modality-major."""
        if space not in self.features:
            raise ValueError(f"this timeline has no {space!r} space; it has {', '.join(self.spaces)}")
        value = np.concatenate([self.features[space][m] for m in self.modalities], axis=1).astype(np.float64)
        return value / np.maximum(np.linalg.norm(value, axis=-1, keepdims=True), 1e-12)


def missing(path: Path) -> NoTimeline:
    return NoTimeline(f"{path.parent} has no timeline ({FILENAME}): train with `python -m omnivec_core.train "
                      f"--timeline-every N --out {path.parent}`, or start a run in the Train tab, which records one")


def load_timeline(where: str | Path) -> Timeline:
    """The timeline of a model or run directory (or of the file). Raises NoTimeline when there is none and
    ValueError when the file is not a readable timeline."""
    from safetensors import safe_open

    path = timeline_path(where)
    if not path.is_file():
        raise missing(path)
    try:
        with safe_open(str(path), "np") as handle:
            meta = json.loads((handle.metadata() or {}).get("timeline", "null"))
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as error:  # a damaged or foreign file
        raise ValueError(f"{path} is not a readable timeline: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not an OmniVec timeline (format {FORMAT})")
    steps, n = tensors.get("steps"), int(meta["events"])
    features = {space: {} for space in meta["spaces"]}
    for m in meta["modalities"]:
        for space in meta["spaces"]:
            value = tensors.get(f"{m}/{space}")
            if steps is None or value is None or value.ndim != 3 or value.shape[:2] != (len(steps), n):
                raise ValueError(f"{path}: {m}/{space} is missing or has the wrong shape")
            features[space][m] = value
    labels = {key.split("/", 1)[1]: value for key, value in tensors.items() if key.startswith("label/")}
    return Timeline(path, steps.astype(np.int64), list(meta["modalities"]), list(meta["spaces"]), meta["joint_space"],
                    int(meta["seed"]), n, labels, list(meta["captions"]), features, meta.get("every"))


# ---------------------------------------------------------------------------------- aligned projection

def pca_2d(points: np.ndarray) -> np.ndarray:
    """(P, d) -> (P, 2): the centred points on their two principal axes (exact SVD, deterministic)."""
    centred = points - points.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    coordinates = np.zeros((len(points), 2))
    k = min(2, len(s))
    coordinates[:, :k] = u[:, :k] * s[:k]
    return coordinates


def procrustes_rotation(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The orthogonal (k, k) matrix R (a rotation or a reflection) minimising ||source @ R - target||."""
    u, _, vt = np.linalg.svd(source.T @ target)
    return u @ vt


def aligned_projection(stack: np.ndarray) -> np.ndarray:
    """(S, P, d) snapshots of the same P points -> (S, P, 2): PCA per snapshot, each turned onto the previous
    snapshot's aligned coordinates by orthogonal Procrustes (the module docstring says why)."""
    stack = np.asarray(stack, dtype=np.float64)
    if stack.ndim != 3 or stack.shape[1] < 3:
        raise ValueError(f"an aligned projection needs snapshots of at least 3 points, got shape {stack.shape}")
    if not np.isfinite(stack).all():
        raise ValueError("the snapshots contain NaN or inf")
    out = np.empty(stack.shape[:2] + (2,))
    for i, points in enumerate(stack):
        coordinates = pca_2d(points)
        out[i] = coordinates if i == 0 else coordinates @ procrustes_rotation(coordinates, out[i - 1])
    return out


@dataclass
class AlignedTimeline:
    """A timeline's aligned 2-D coordinates in one space, with what drawing a frame needs, computed once."""
    timeline: Timeline
    space: str
    coordinates: np.ndarray      # (S, P, 2) float32
    modalities: np.ndarray       # (P,) modality of each point
    events: np.ndarray           # (P,) probe event of each point
    bounds: tuple[tuple[float, float], tuple[float, float]]   # x and y range over every snapshot
    _groups: dict = field(default_factory=dict, repr=False)
    _mixing: dict = field(default_factory=dict, repr=False)
    _hover: list = field(default_factory=list, repr=False)

    @classmethod
    def of(cls, timeline: Timeline, space: str) -> "AlignedTimeline":
        coordinates = aligned_projection(timeline.stack(space)).astype(np.float32)
        modalities = np.repeat(np.array(timeline.modalities), timeline.n)
        events = np.tile(np.arange(timeline.n), len(timeline.modalities))
        low, high = coordinates.reshape(-1, 2).min(0), coordinates.reshape(-1, 2).max(0)
        pad = 0.05 * np.maximum(high - low, 1e-6)
        bounds = ((float(low[0] - pad[0]), float(high[0] + pad[0])), (float(low[1] - pad[1]), float(high[1] + pad[1])))
        return cls(timeline, space, coordinates, modalities, events, bounds)

    def groups(self, colour_by: str) -> list[tuple[str, np.ndarray]]:
        """[(legend name, point indices)] for colouring by modality or an attribute (memoised)."""
        if colour_by not in self._groups:
            if colour_by == "modality":
                names = self.modalities
            elif colour_by in self.timeline.labels and colour_by in ATTRIBUTES:
                names = np.array(ATTRIBUTES[colour_by])[self.timeline.labels[colour_by][self.events]]
            else:
                raise ValueError(f"cannot colour the timeline by {colour_by!r}; choose modality or one of "
                                 f"{', '.join(a for a in ATTRIBUTES if a in self.timeline.labels)}")
            self._groups[colour_by] = [(str(g), np.flatnonzero(names == g)) for g in dict.fromkeys(names.tolist())]
        return self._groups[colour_by]

    def hover(self) -> np.ndarray:
        """(P,) hover text of every point: its probe event, modality and caption (memoised)."""
        if not self._hover:
            captions = self.timeline.captions
            self._hover.append(np.array([f"event {e} · {m}<br>{captions[e]}"
                                         for e, m in zip(self.events.tolist(), self.modalities.tolist())]))
        return self._hover[0]

    def mixing(self, index: int) -> float:
        """Share of each point's 10 nearest neighbours (in the 2-D frame) from another modality (memoised)."""
        if index not in self._mixing:
            self._mixing[index] = other_modality_share(self.coordinates[index], list(self.modalities),
                                                       min(10, len(self.modalities) - 1))
        return self._mixing[index]


class TimelineCache:
    """Aligned projections of timeline files, computed once per version of a file (its size and time) and
    space; a slider then only draws. One per app tab (no module-level state)."""

    def __init__(self, keep: int = 4):
        self.keep, self.entries, self.lock, self.loads = keep, {}, threading.Lock(), 0

    def get(self, where: str | Path, space: str | None = None) -> AlignedTimeline:
        path = timeline_path(where).resolve()
        try:
            stat = path.stat()
        except OSError:
            raise missing(path) from None
        version = (stat.st_mtime_ns, stat.st_size)
        with self.lock:
            entry = self.entries.get(path)
            if entry is None or entry[0] != version:
                self.loads += 1
                entry = (version, load_timeline(path), {})
                self.entries.pop(path, None)
                self.entries[path] = entry
                while len(self.entries) > self.keep:
                    self.entries.pop(next(iter(self.entries)))
            _, timeline, aligned = entry
            space = space or timeline.joint_space or VECTOR
            if space not in aligned:
                aligned[space] = AlignedTimeline.of(timeline, space)
            return aligned[space]
