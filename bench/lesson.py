"""The two-minute lesson: train the `lesson` preset as the Train tab does, then score what a class would see.

    python -m bench.lesson [--steps N] [--seed 31337] [--n 500] [--out DIR] [--json FILE]

Runs `python -m omnivec_core.train --preset lesson` in a subprocess with the Train tab's timeline spacing (about
20 snapshots), timing it from start to saved model; then embeds n held-out events of --seed and reports
text->video attribute precision@1 (the top clip for a caption agrees with it on every attribute it names) and
video->audio instance R@1, with the per-attribute agreement of text->video that shows what still limits it, and
the timeline's snapshot count. --steps shortens the plan in proportion (a smoke run).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.app_latency import ROOT


def train(out: Path, steps: int | None) -> float:
    """Seconds from the trainer's start to its saved model."""
    from omnivec_app.training import timeline_every
    from omnivec_core.config import preset

    total = steps or preset("lesson").train.total_steps
    command = [sys.executable, "-m", "omnivec_core.train", "--preset", "lesson", "--out", str(out), "--device", "cpu",
               "--timeline-every", str(timeline_every(total))] + (["--steps", str(steps)] if steps else [])
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"training failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def agreement(gallery, model) -> dict[str, float]:
    """Per attribute a caption names: the share of its top clip (text->video) that agrees on it."""
    from omnivec_core.evaluation.pairs import named_attributes

    space = model.embedding.pair_space("text", "video")
    top = (gallery.embeddings["text"][space] @ gallery.embeddings["video"][space].t()).argmax(1).tolist()
    said = named_attributes("text", gallery.labels, gallery.captions)
    seen = named_attributes("video", gallery.labels, gallery.captions)
    agree, named = Counter(), Counter()
    for query, j in zip(said, top):
        for attribute in query.keys() & seen[j].keys():
            named[attribute] += 1
            agree[attribute] += query[attribute] == seen[j][attribute]
    return {a: agree[a] / named[a] for a in sorted(named)}


def score(out: Path, seed: int, n: int) -> dict:
    import torch

    from omnivec_core.analysis.gallery import build_gallery
    from omnivec_core.analysis.timeline import load_timeline
    from omnivec_core.evaluation.pairs import pair_scores
    from omnivec_core.train.checkpoint import load_model

    model, _ = load_model(out, torch.device("cpu"))
    gallery = build_gallery(model, n, seed=seed)
    instance, attributes = pair_scores(model, gallery.labels, gallery.captions, gallery.embeddings)
    return {"text->video P@1": attributes["text->video"], "video->audio R@1": instance["video->audio"]["R@1"],
            "text->video agreement by attribute": agreement(gallery, model),
            "timeline snapshots": len(load_timeline(out).steps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="total steps (default: the preset's plan)")
    parser.add_argument("--seed", type=int, default=31337, help="held-out seed scored (default: the validation seed)")
    parser.add_argument("--n", type=int, default=500, help="held-out events (the retrieval gallery)")
    parser.add_argument("--out", type=Path, help="model directory to write (default: a temporary one)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="lesson-"))
    seconds = train(out, args.steps)
    result = {"train seconds": seconds, **score(out, args.seed, args.n)}
    print(f"lesson preset, {out}: trained in {seconds:.0f} s (start to saved model, 2 CPU cores)")
    print(f"{'measure (seed ' + str(args.seed) + ', n ' + str(args.n) + ')':<40} {'value':>7} {'target':>7}")
    print(f"{'text->video attribute P@1':<40} {result['text->video P@1']:>7.3f} {0.7:>7.2f}")
    print(f"{'video->audio R@1':<40} {result['video->audio R@1']:>7.3f} {0.7:>7.2f}")
    print(f"{'timeline snapshots':<40} {result['timeline snapshots']:>7d} {20:>7d}")
    for attribute, share in result["text->video agreement by attribute"].items():
        print(f"{'  text->video agrees on ' + attribute:<40} {share:>7.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
