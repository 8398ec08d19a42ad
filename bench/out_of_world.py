"""Calibrate the out-of-world score (omnivec_core/analysis/out_of_world.py): held-out OmniShapes events of the
validation seed against media the world never holds, per modality: AUROC, and the thresholds that turn the
score into words.

    python -m bench.out_of_world [--checkpoint DIR] [--events 500] [--per-group 12] [--seed 31337]
                                 [--spaces vector coarse] [--json OUT.json]

In-world: --events held-out events of --seed (31337, the validation seed; 424242, the test seed, is refused).
Out of world: bench/foreign_media.py's pictures, clips, meshes and tones that other programs draw, sentences
about other things, pure noise in every modality's input and blank white and grey pictures. Every file goes through the readers, as an upload does.

The reference is a gallery built here from the model and today's renderer (not the app's cache file, which
is keyed by the weights only and so goes stale when the world's renderer changes under the same weights).
A threshold is the one with the best TPR - FPR among those that flag at most 10 % ("somewhat unlike") or
2 % ("unlike") of held-out events; the score being a percentile among held-out events, these carry over to
any model.
"""
from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import torch

from bench.foreign_media import generate
from omnivec_core.analysis.embeddings import embed_batch, embed_modality
from omnivec_core.analysis.gallery import build_gallery
from omnivec_core.analysis.out_of_world import DEFAULT_K, OutOfWorld
from omnivec_core.data import readers
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.modalities import CAPTIONS, REGISTRY
from omnivec_core.train.checkpoint import load_model

ROOT = Path(__file__).resolve().parents[1]

TEST_SEED = 424_242  # never tuned on
FALSE_ALARMS = {"somewhat": 0.10, "unlike": 0.02}
OTHER_SENTENCES = (
    "the quarterly earnings rose three percent", "please pass the salt and pepper", "my grandmother knits scarves",
    "the train to paris leaves at noon", "photosynthesis turns light into sugar", "who won the football match",
    "a recipe for lemon cake with butter", "the server returned error four hundred and four",
    "colourless green ideas sleep furiously", "zxqv plorn wub wub glarg", "tax forms are due in april",
    "the violin section tuned before the concert")


# ------------------------------------------------------------------ what is scored

def foreign_files(out: Path, seed: int, per_group: int) -> list[tuple[str, Path]]:
    """(group, path) of the media other programs make (bench/foreign_media.py's generators)."""
    items = generate(out, seed, per_group)
    print(f"foreign set: bench/foreign_media.py, {len(items)} items")
    return [(item.group, Path(item.path)) for item in items]  # its groups name their medium: "clip: dark"


def synthetic_inputs(modalities, n: int, seed: int) -> dict[str, dict[str, object]]:
    """group -> modality -> a batch of model inputs: pure noise in every modality, blank white and grey pages."""
    g = torch.Generator().manual_seed(seed)
    noise = {"image": torch.rand(n, 3, 64, 64, generator=g), "video": torch.rand(n, 8, 3, 64, 64, generator=g),
             "depth": torch.rand(n, 1, 64, 64, generator=g),
             "audio": torch.stack([readers.audio_to_model(0.3 * torch.randn(16000, generator=g)) for _ in range(n)]),
             "points": torch.nn.functional.normalize(torch.randn(n, 1024, 3, generator=g), dim=-1)
             * torch.rand(n, 1024, 1, generator=g), "imu": torch.randn(n, 100, 6, generator=g)}
    groups = {"noise": {m: x for m, x in noise.items() if m in modalities}}
    for name, level in (("blank white", 1.0), ("blank grey", 0.5)):
        groups[name] = {m: torch.full((n, channels, 64, 64), level) for m, channels in (("image", 3), ("depth", 1))
                        if m in modalities}
    if CAPTIONS in modalities:  # cleaned by the text reader, as a typed query is
        groups["other sentences"] = {CAPTIONS: [readers.read_text(s).tensor for s in OTHER_SENTENCES]}
    return groups


def read_as_inputs(files: list[tuple[str, Path]], modalities) -> dict[str, dict[str, list]]:
    """group -> modality -> inputs, each file read by the readers and taken as every modality it queries as."""
    groups: dict[str, dict[str, list]] = {}
    for group, path in files:
        try:
            loaded = readers.read_any(path)
        except readers.MediaError as error:
            print(f"  skipped {path.name}: {error}")
            continue
        for spec in REGISTRY.values():
            if loaded.kind in spec.queries and spec.name in modalities:
                try:
                    groups.setdefault(group, {}).setdefault(spec.name, []).append(spec.from_loaded(loaded)[0])
                except readers.MediaError:
                    pass
    return {g: {m: torch.stack(xs) for m, xs in ms.items()} for g, ms in groups.items()}


# ------------------------------------------------------------------ the figures

def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    """P(an outside score > an inside one), ties counting half."""
    greater = (outside[:, None] > inside[None, :]).mean()
    return float(greater + 0.5 * (outside[:, None] == inside[None, :]).mean())


def choose_threshold(inside: np.ndarray, outside: np.ndarray, max_false_alarms: float) -> float:
    """Neyman-Pearson: the threshold (scores at or above it are flagged) that catches the most foreign inputs
    among those flagging at most `max_false_alarms` of held-out events; of equals, the lowest, which leaves the
    most margin for foreign media milder than this set. Two decimals, rounded up (fewer false alarms)."""
    best, caught = 1.0, -1.0
    for t in np.unique(np.concatenate([inside, outside, [1.0]]))[::-1]:  # high to low: ties end at the lowest
        true = (outside >= t).mean() if len(outside) else 0.0
        if (inside >= t).mean() <= max_false_alarms and true >= caught:
            best, caught = float(t), true
    return min(1.0, math.ceil(best * 100 - 1e-9) / 100)


def rates(inside: np.ndarray, outside: np.ndarray, threshold: float) -> str:
    """Held-out events and foreign inputs flagged at a threshold."""
    caught = f"{(outside >= threshold).mean():.0%}" if len(outside) else "-"
    return f"{threshold:.2f} (flags {(inside >= threshold).mean():.1%} held-out, {caught} foreign)"


def score_groups(oow: OutOfWorld, embedded: dict) -> dict[str, dict[str, np.ndarray]]:
    """group -> modality -> embeddings (every space) -> modality -> group -> scores."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for group, inputs in embedded.items():
        for m, spaces in inputs.items():
            out.setdefault(m, {})[group] = oow.scores(m, spaces[oow.references[m].space]).numpy()
    return out


def report(space: str, inside: dict[str, np.ndarray], outside: dict[str, dict[str, np.ndarray]]) -> dict:
    """Print one space's table and return its figures: per modality AUROC (each group, all), thresholds."""
    print(f"\n== space: {space} (k = {DEFAULT_K})\n")
    print(f"{'modality':8} {'group':28} {'n':>4} {'mean score':>10} {'AUROC':>6}")
    figures = {}
    for m, held in inside.items():
        print(f"{m:8} {'held-out OmniShapes':28} {len(held):4d} {held.mean():10.3f} {'':>6}")
        groups = outside.get(m, {})
        for group, scores in groups.items():
            print(f"{m:8} {group:28} {len(scores):4d} {scores.mean():10.3f} {auroc(held, scores):6.3f}")
        pooled = np.concatenate(list(groups.values())) if groups else np.zeros(0)
        figures[m] = {"auroc": {g: auroc(held, s) for g, s in groups.items()},
                      "auroc_all": auroc(held, pooled) if len(pooled) else None,
                      "thresholds": [choose_threshold(held, pooled, FALSE_ALARMS[level]) for level in FALSE_ALARMS]}
        all_text = "-" if not len(pooled) else f"{figures[m]['auroc_all']:.3f}"
        somewhat, unlike = figures[m]["thresholds"]
        print(f"{m:8} {'ALL foreign':28} {len(pooled):4d} {'':>10} {all_text:>6}\n{'':8} thresholds: somewhat "
              f"{rates(held, pooled, somewhat)}, unlike {rates(held, pooled, unlike)}\n")
    return figures


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "omnivec-default")
    parser.add_argument("--events", type=int, default=500, help="held-out events scored (and the gallery's size)")
    parser.add_argument("--per-group", type=int, default=12)
    parser.add_argument("--seed", type=int, default=31337, help="validation seed of the held-out events")
    parser.add_argument("--spaces", nargs="+", default=["vector", "joint"], help="'joint': the model's joint space")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.seed == TEST_SEED:
        parser.error(f"{TEST_SEED} is the test seed: calibrate on the validation seed (31337)")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model, _ = load_model(args.checkpoint, "cpu")
    modalities = model.cfg.modalities
    print(f"model {args.checkpoint}; gallery of {args.events} events; held-out seed {args.seed}")
    gallery = build_gallery(model, args.events)
    held = embed_batch(model, OmniShapes().render(args.events, seed=args.seed))
    with tempfile.TemporaryDirectory(prefix="foreign-") as folder:
        groups = read_as_inputs(foreign_files(Path(folder), args.seed, args.per_group), modalities)
    groups.update(synthetic_inputs(modalities, args.per_group, args.seed))
    embedded = {g: {m: embed_modality(model, m, x) for m, x in inputs.items()} for g, inputs in groups.items()}
    results = {}
    for space in args.spaces:
        name = model.embedding.joint_space if space == "joint" else space
        oow = OutOfWorld(gallery.embeddings, name)
        inside = {m: oow.scores(m, held[m][oow.references[m].space]).numpy() for m in modalities}
        results[name] = report(name, inside, score_groups(oow, embedded))
        print("registry entries' out_of_world: " + ", ".join(
            f'{m} ({f["thresholds"][0]:.2f}, {f["thresholds"][1]:.2f})' for m, f in results[name].items()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
