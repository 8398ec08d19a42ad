"""Point clouds and meshes: trimesh for mesh formats, numpy for text tables and .npy
(never with pickles). Output: 1024 points, centred, farthest point at distance 1."""
from __future__ import annotations

import io

import numpy as np
import torch

from ...modalities.loaded import Loaded, MediaError
from ...modalities.points import N_POINTS, normalize_cloud
from .common import (LIMITS, ReaderLimits, basename, check_content, check_file, extension, load_number_array,
                     run_with_timeout)

MIN_POINTS = 32
SEED = 0
FPS_POOL = 16384  # larger clouds are first randomly thinned to this many, then farthest-point sampled
MESH_EXTS = (".ply", ".obj", ".off", ".stl", ".glb")
TABLE_EXTS = (".xyz", ".txt", ".csv")
POINT_EXTS = MESH_EXTS + TABLE_EXTS + (".npy",)
_FAMILIES = {".ply": {"ply"}, ".glb": {"glb"}, ".npy": {"npy"}, ".obj": {"text"}, ".off": {"text"},
             ".xyz": {"text"}, ".txt": {"text"}, ".csv": {"text"}, ".stl": {"text"}}


def read_points(path, limits: ReaderLimits = LIMITS, *, allowed_roots=None) -> Loaded:
    """A point or mesh file -> Loaded("points", float32 (1024, 3)): centred at the mean,
    scaled so the farthest point is at distance 1."""
    p = check_file(path, limits, allowed_roots)
    name = basename(p)
    ext = extension(p)
    if ext not in POINT_EXTS:
        raise MediaError(f"{name}: unsupported point-cloud type '{ext or '(none)'}'; supported: "
                         f"{', '.join(POINT_EXTS)}", code="unsupported", name=name)
    if ext != ".stl":  # binary STL has no magic number
        check_content(p, "points", _FAMILIES[ext])
    return load_points(p, ext, limits, [])


def load_points(p, ext: str, limits: ReaderLimits, notes: list[str]) -> Loaded:
    """Decode an already checked file of format ``ext`` (``read_points`` without the checks)."""
    name = basename(p)
    pts = run_with_timeout(lambda: _load(p, ext, name, limits, notes), limits.decode_timeout_s, "read points", name)
    return Loaded("points", normalize_points(pts, name, notes), None, notes, name)


def _load(p, ext: str, name: str, limits: ReaderLimits, notes: list[str]) -> np.ndarray:
    if ext == ".npy":
        arr = _load_npy(p, name)
    elif ext in TABLE_EXTS:
        arr = _load_table(p, name)
    else:
        return _load_mesh(p, ext, name, limits, notes)
    if arr.shape[0] > limits.max_points:
        raise MediaError(f"{name}: too many points ({arr.shape[0]:,}; the limit is {limits.max_points:,})",
                         code="too_many_points", name=name)
    return arr


def _load_npy(p, name: str) -> np.ndarray:
    arr = load_number_array(p, name)
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise MediaError(f"{name}: expected an (N, 3) array of xyz points, got shape {tuple(arr.shape)}",
                         code="bad_table", name=name)
    return np.array(arr[:, :3], dtype=np.float64)


def _load_table(p, name: str) -> np.ndarray:
    with open(p, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MediaError(f"{name} is not a text table of points (not UTF-8 text)", code="bad_table",
                         name=name) from None
    text = text.replace(",", " ").replace(";", " ").replace("\t", " ")
    last = None
    for skip in (0, 1):  # a header row is allowed
        try:
            arr = np.loadtxt(io.StringIO(text), comments=("#", "//"), skiprows=skip, ndmin=2, dtype=np.float64)
            break
        except ValueError as e:
            last = e
    else:
        raise MediaError(f"{name} is not a table of numbers: each line needs x y z ({str(last)[:80]})",
                         code="bad_table", name=name)
    if arr.size == 0:
        raise MediaError(f"{name} has no points", code="too_few_points", name=name)
    if arr.shape[1] < 3:
        raise MediaError(f"{name}: each line needs at least 3 columns (x y z); found {arr.shape[1]}",
                         code="bad_table", name=name)
    return arr[:, :3]


def _load_mesh(p, ext: str, name: str, limits: ReaderLimits, notes: list[str]) -> np.ndarray:
    import trimesh

    with open(p, "rb") as f:  # a file object: trimesh gets no resolver, so never reads side files
        try:
            geom = trimesh.load(f, file_type=ext[1:], process=False, skip_materials=True)
        except MediaError:
            raise
        except Exception as e:  # noqa: BLE001 - trimesh raises many types for bad files
            raise MediaError(f"{name} is not a readable {ext[1:].upper()} file: corrupt or truncated "
                             f"({type(e).__name__})", code="corrupt", name=name) from None
    if isinstance(geom, trimesh.Scene):
        parts = [g for g in geom.dump() if hasattr(g, "vertices")] if geom.geometry else []
        meshes = [g for g in parts if isinstance(g, trimesh.Trimesh)]
        if meshes:
            geom = trimesh.util.concatenate(meshes) if len(meshes) > 1 else meshes[0]
        elif parts:
            geom = trimesh.PointCloud(np.concatenate([np.asarray(g.vertices) for g in parts]))
        else:
            raise MediaError(f"{name} contains no geometry", code="too_few_points", name=name)
    verts = np.asarray(getattr(geom, "vertices", np.zeros((0, 3))), dtype=np.float64)
    if verts.shape[0] > limits.max_points:
        raise MediaError(f"{name}: too many vertices ({verts.shape[0]:,}; the limit is {limits.max_points:,})",
                         code="too_many_points", name=name)
    if verts.size and not np.isfinite(verts).all():
        raise MediaError(f"{name}: the points contain NaN or infinite coordinates", code="not_finite", name=name)
    faces = getattr(geom, "faces", None)
    if isinstance(geom, trimesh.Trimesh) and faces is not None and len(faces) > 0:
        if len(faces) > 2 * limits.max_points:
            raise MediaError(f"{name}: too many faces ({len(faces):,})", code="too_many_points", name=name)
        if np.asarray(faces).max() >= len(verts) or np.asarray(faces).min() < 0:
            raise MediaError(f"{name}: faces refer to missing vertices (corrupt mesh)", code="corrupt", name=name)
        if float(geom.area) > 0 and np.isfinite(geom.area):
            pts, _ = trimesh.sample.sample_surface(geom, N_POINTS, seed=SEED)
            notes.append(f"mesh with {len(verts):,} vertices and {len(faces):,} faces; {N_POINTS} points sampled "
                         f"from its surface")
            return np.asarray(pts, dtype=np.float64)
        notes.append("mesh has no surface area; using its vertices")
    return verts


def normalize_points(pts: np.ndarray, name: str, notes: list[str]) -> torch.Tensor:
    """(N, 3) points -> float32 (1024, 3): checks, (sub|re)sampling, centring, unit scale."""
    pts = np.asarray(pts, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise MediaError(f"{name}: expected (N, 3) points, got shape {tuple(pts.shape)}", code="bad_table", name=name)
    if not np.isfinite(pts).all():
        raise MediaError(f"{name}: the points contain NaN or infinite coordinates", code="not_finite", name=name)
    n = pts.shape[0]
    if n < MIN_POINTS:
        raise MediaError(f"{name}: too few points ({n}; at least {MIN_POINTS} are needed)", code="too_few_points",
                         name=name)
    if float(np.ptp(pts, axis=0).max()) <= 1e-9 * max(1.0, float(np.abs(pts).max())):
        raise MediaError(f"{name}: all points are identical (degenerate point cloud)", code="degenerate", name=name)
    rng = np.random.default_rng(SEED)
    if n > N_POINTS:
        if n > FPS_POOL:
            pts = pts[np.sort(rng.choice(n, FPS_POOL, replace=False))]
        pts = pts[farthest_point_sample(pts, N_POINTS, rng)]
        notes.append(f"{n:,} points; {N_POINTS} chosen by farthest-point sampling")
    elif n < N_POINTS:
        pts = pts[np.concatenate([np.arange(n), rng.choice(n, N_POINTS - n, replace=True)])]
        notes.append(f"{n} points; resampled with replacement to {N_POINTS}")
    centred = pts - pts.mean(axis=0)  # in float64 first: a mesh far from its origin keeps its detail
    return normalize_cloud(torch.from_numpy(centred.astype(np.float32)))


def farthest_point_sample(pts: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``k`` points chosen greedily, each farthest from those already chosen."""
    n = pts.shape[0]
    idx = np.empty(k, dtype=np.int64)
    idx[0] = int(rng.integers(n))
    dist = ((pts - pts[idx[0]]) ** 2).sum(axis=1)
    for i in range(1, k):
        idx[i] = int(dist.argmax())
        dist = np.minimum(dist, ((pts - pts[idx[i]]) ** 2).sum(axis=1))
    return idx
