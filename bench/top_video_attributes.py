"""Which attribute the top video misses: for the first caption of each held-out event, rank every video by
the text->video similarity and check each attribute the caption names against the top one. Tells which
attribute holds text->video P@1 down.

    python bench/top_video_attributes.py runs/classroom [runs/other ...] [--seed 31337] [--n 1000]

Prints one row per checkpoint: P@1 and, per attribute, the share of captions naming it whose top video has it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from omnivec_core.analysis.embeddings import embed_batch  # noqa: E402
from omnivec_core.data.omnishapes import ATTRIBUTES, OmniShapes, parse_caption  # noqa: E402
from omnivec_core.train.checkpoint import load_model  # noqa: E402


def top_video_hits(directory: Path, batch) -> tuple[float, dict[str, tuple[float, int]]]:
    model, _ = load_model(directory, "cpu")
    model.eval()
    with torch.no_grad():
        embedded = embed_batch(model, batch, ["video", "text"])
    space = model.embedding.pair_space("video", "text")
    top = (embedded["text"][space] @ embedded["video"][space].t()).argmax(1).tolist()
    names = {a: [ATTRIBUTES[a][i] for i in batch.labels[a].tolist()] for a in batch.labels}
    hits, named, all_right = dict.fromkeys(ATTRIBUTES, 0), dict.fromkeys(ATTRIBUTES, 0), 0
    for query, j in enumerate(top):
        caption = parse_caption(batch.text[query][0])
        right = {a: names[a][j] == value for a, value in caption.items()}
        for a, ok in right.items():
            named[a] += 1
            hits[a] += ok
        all_right += all(right.values())
    return all_right / len(top), {a: (hits[a] / max(named[a], 1), named[a]) for a in ATTRIBUTES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, help="model directories")
    parser.add_argument("--seed", type=int, default=31337, help="OmniShapes seed of the events (validation)")
    parser.add_argument("--n", type=int, default=1000, help="events, each a caption query and a video")
    args = parser.parse_args()
    batch = OmniShapes().render(args.n, seed=args.seed)
    print(f"top video per caption, {args.n} events of seed {args.seed} (captions naming each attribute in brackets)")
    print(f"{'checkpoint':<28} {'P@1':>6} " + " ".join(f"{a:>13}" for a in ATTRIBUTES))
    for directory in args.checkpoints:
        precision, per_attribute = top_video_hits(directory, batch)
        cells = " ".join(f"{share:>6.3f} ({count:>4})" for share, count in per_attribute.values())
        print(f"{directory.name:<28} {precision:>6.3f} {cells}")


if __name__ == "__main__":
    main()
