"""Two models side by side on the same held-out events: what each scores on one shared gallery (pair matrix,
zero-shot), what its own evaluation (eval.json) says, and the difference, row by row.

    python -m omnivec_core.analysis.compare MODEL_A MODEL_B [--events 300]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..evaluation.pairs import pair_scores, zero_shot_scores
from ..model import OmniVec
from ..train.checkpoint import load_model
from .gallery import Gallery, load_or_build_gallery
from .timeline import procrustes_rotation

EVAL_FILE = "eval.json"
MASK_RATIO = "0.75"  # the reconstruction gain compared: MAE's usual ratio


@dataclass
class Side:
    """One model of a comparison: where it lives, the model, and its embedding of the shared gallery."""
    directory: Path
    model: OmniVec
    gallery: Gallery

    @property
    def name(self) -> str:
        return self.directory.name


def mean(values) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    return sum(values) / len(values) if values else float("nan")


def gallery_metrics(model: OmniVec, gallery: Gallery) -> dict[str, float]:
    """Scores on the gallery's events, the same events for every model compared."""
    instance, attributes = pair_scores(model, gallery.labels, gallery.captions, gallery.embeddings)
    zero = zero_shot_scores(model, gallery.labels, gallery.embeddings)
    out = {"parameters (M)": sum(v.numel() for v in model.trainable_state_dict().values()) / 1e6,
           "modalities": float(len(model.cfg.modalities)),
           "gallery: mean instance R@1 over pairs": mean(s["R@1"] for s in instance.values()),
           "gallery: mean attribute P@1 over pairs": mean(attributes.values())}
    out.update({f"gallery: zero-shot shape, {m}": s["shape"] for m, s in zero.items() if "shape" in s})
    return out


def report_metrics(report: dict) -> dict[str, float]:
    """The headline figures of an evaluate --json report (each model's own, at the seed it names)."""
    at = f"eval.json (seed {report.get('seed')}, {report.get('n')} events)"
    probes = report.get("linear_probe", {})
    out = {f"{at}: mean linear probe": mean(v for scores in probes.values() for v in scores.values()),
           f"{at}: mean attribute P@1": mean(report.get("attribute_precision", {}).values()),
           f"{at}: mean instance R@1": mean(s["R@1"] for s in report.get("retrieval", {}).values()),
           f"{at}: mean zero-shot": mean(v for scores in report.get("zero_shot", {}).values()
                                          for v in scores.values())}
    for m, ratios in report.get("reconstruction", {}).items():
        scores = ratios.get(MASK_RATIO, {})
        if "psnr" in scores:
            out[f"{at}: {m} PSNR gain at 75 % (dB)"] = scores["psnr"] - scores["baseline_psnr"]
        if "chamfer" in scores:  # point clouds: distance, lower is better
            out[f"{at}: {m} Chamfer at 75 % (baseline {scores['baseline_chamfer']:.4f})"] = scores["chamfer"]
    return out


def saved_report(directory: Path) -> dict | None:
    """The model directory's eval.json, or None when it has none or it cannot be read."""
    try:
        return json.loads((Path(directory) / EVAL_FILE).read_text())
    except (OSError, ValueError):
        return None


def side_metrics(side: Side) -> dict[str, float]:
    """The gallery metrics, then the headlines of the directory's eval.json if it has one."""
    report = saved_report(side.directory)
    try:
        saved = report_metrics(report) if report is not None else {}
    except (AttributeError, KeyError, TypeError) as error:
        raise ValueError(f"{side.directory / EVAL_FILE} is not a report of evaluate --json ({error!r}); "
                         "move it away or make it again") from None
    return {**gallery_metrics(side.model, side.gallery), **saved}


def comparison_rows(a: dict[str, float], b: dict[str, float]) -> list[tuple[str, float, float, float]]:
    """(metric, A, B, B - A) for every metric either side has (NaN where one lacks it), in A's order."""
    names = list(dict.fromkeys([*a, *b]))
    nan = float("nan")
    return [(k, a.get(k, nan), b.get(k, nan), b.get(k, nan) - a.get(k, nan)) for k in names]


def format_rows(rows, name_a: str, name_b: str) -> str:
    def cell(v: float) -> str:
        return "—" if math.isnan(v) else f"{v:.3f}"

    lines = [f"| metric | A: {name_a} | B: {name_b} | B − A |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {cell(va)} | {cell(vb)} | {'—' if math.isnan(d) else f'{d:+.3f}'} |" for k, va, vb, d in rows]
    return "\n".join(lines)


def align_onto(moving: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """`moving` (P, k) centred, scaled to `fixed`'s spread and turned onto it by orthogonal Procrustes: two
    models' projections of the same points then read alike (a projection's axes and sign are arbitrary)."""
    if moving.shape != fixed.shape:
        raise ValueError(f"alignment needs the same points on both sides, got {moving.shape} and {fixed.shape}")
    moving, target = moving - moving.mean(0), fixed - fixed.mean(0)
    spread = np.sqrt((moving ** 2).sum() / max(1, len(moving)))
    scale = np.sqrt((target ** 2).sum() / max(1, len(target))) / spread if spread > 0 else 1.0
    return moving * scale @ procrustes_rotation(moving, target) + fixed.mean(0)


def load_side(directory: Path, events: int, device="cpu") -> Side:
    model, _ = load_model(directory, device)
    return Side(Path(directory), model, load_or_build_gallery(model, Path(directory), events))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m omnivec_core.analysis.compare",
                                description="Compare two model directories on the same held-out events (OmniShapes "
                                            "gallery seed 7777777) and by their own eval.json; prints a markdown "
                                            "table of A, B and B - A.")
    p.add_argument("a", type=Path, help="model directory A (config.json + model.safetensors)")
    p.add_argument("b", type=Path, help="model directory B")
    p.add_argument("--events", type=int, default=300, help="gallery events both models embed (default 300)")
    args = p.parse_args(argv)
    if not 20 <= args.events <= 2000:
        print("error: --events must be between 20 and 2000", file=sys.stderr)
        return 2
    try:
        a, b = (load_side(d, args.events) for d in (args.a, args.b))
        rows = comparison_rows(side_metrics(a), side_metrics(b))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_rows(rows, str(args.a), str(args.b)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
