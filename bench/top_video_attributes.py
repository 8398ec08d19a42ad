"""Which attribute the top video misses: for the first caption of each held-out event, rank every video by
the text->video similarity and check each attribute the caption names against the top one. Tells which
attribute holds text->video P@1 down.

    python bench/top_video_attributes.py runs/classroom [runs/other ...] [--seed 31337] [--n 1000]
        [--speed-by-motion]

Prints one row per checkpoint: P@1 and, per attribute, the share of captions naming it whose top video has it;
with --speed-by-motion, a second table: of the captions naming a speed, that share by the motion of the
caption's own clip (a speed is how far a translation went, or how fast a spin or a change of size).
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


def top_videos(directory: Path, batch) -> list[int]:
    """For the first caption of each event, the index of the video most similar to it."""
    model, _ = load_model(directory, "cpu")
    model.eval()
    with torch.no_grad():
        embedded = embed_batch(model, batch, ["video", "text"])
    space = model.embedding.pair_space("video", "text")
    return (embedded["text"][space] @ embedded["video"][space].t()).argmax(1).tolist()


def attribute_names(batch) -> dict[str, list[str]]:
    """attribute -> each event's value, by name."""
    return {a: [ATTRIBUTES[a][i] for i in batch.labels[a].tolist()] for a in batch.labels}


def top_video_hits(top: list[int], names: dict[str, list[str]], said: list[dict[str, str]]
                   ) -> tuple[float, dict[str, tuple[float, int]]]:
    """P@1 and, per attribute, (share of the captions naming it whose top video has it, how many); `said` is
    what each event's first caption names."""
    hits, named, all_right = dict.fromkeys(ATTRIBUTES, 0), dict.fromkeys(ATTRIBUTES, 0), 0
    for j, caption in zip(top, said):
        right = {a: names[a][j] == value for a, value in caption.items()}
        for a, ok in right.items():
            named[a] += 1
            hits[a] += ok
        all_right += all(right.values())
    return all_right / len(top), {a: (hits[a] / max(named[a], 1), named[a]) for a in ATTRIBUTES}


def speed_hits_by_motion(top: list[int], names: dict[str, list[str]], said: list[dict[str, str]]
                         ) -> dict[str, tuple[float, int]]:
    """motion -> (share of the captions naming a speed whose top video has it, how many), by the query clip's motion."""
    hits, named = dict.fromkeys(ATTRIBUTES["motion"], 0), dict.fromkeys(ATTRIBUTES["motion"], 0)
    for query, (j, caption) in enumerate(zip(top, said)):
        if "speed" in caption:
            motion = names["motion"][query]
            named[motion] += 1
            hits[motion] += names["speed"][j] == caption["speed"]
    return {m: (hits[m] / max(named[m], 1), named[m]) for m in ATTRIBUTES["motion"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, help="model directories")
    parser.add_argument("--seed", type=int, default=31337, help="OmniShapes seed of the events (validation)")
    parser.add_argument("--n", type=int, default=1000, help="events, each a caption query and a video")
    parser.add_argument("--speed-by-motion", action="store_true",
                        help="also the top video's speed by the motion of the caption's clip")
    args = parser.parse_args()
    batch = OmniShapes().render(args.n, seed=args.seed)
    names, said = attribute_names(batch), [parse_caption(captions[0]) for captions in batch.text]
    tops = {directory: top_videos(directory, batch) for directory in args.checkpoints}
    print(f"top video per caption, {args.n} events of seed {args.seed} (captions naming each attribute in brackets)")
    print(f"{'checkpoint':<28} {'P@1':>6} " + " ".join(f"{a:>13}" for a in ATTRIBUTES))
    for directory, top in tops.items():
        precision, per_attribute = top_video_hits(top, names, said)
        cells = " ".join(f"{share:>6.3f} ({count:>4})" for share, count in per_attribute.values())
        print(f"{directory.name:<28} {precision:>6.3f} {cells}")
    if args.speed_by_motion:
        print("\ntop video has the speed the caption names, by the motion of the caption's clip")
        print(f"{'checkpoint':<28} " + " ".join(f"{m:>11}" for m in ATTRIBUTES["motion"]))
        for directory, top in tops.items():
            by_motion = speed_hits_by_motion(top, names, said)
            cells = " ".join(f"{share:>5.2f} ({count:>3})" for share, count in by_motion.values())
            print(f"{directory.name:<28} {cells}")


if __name__ == "__main__":
    main()
