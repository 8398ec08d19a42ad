"""What OmniVL's text decoders say, model by model: caption accuracy per modality and attribute, and
text->video attribute P@1 before and after the alignment decoder re-ranks the contrastive top 10.

    python -m bench.text_decoders MODEL_DIR [MODEL_DIR ...] [--seed 31337] [--n 1000]

Meant to compare decoders trained on one frozen encoder, for example language stages of different
lengths, each trained with `train --config PLAN --init OLD --from-stage language --out DIR` from a model
whose plan ends at the language stage, PLAN being OLD's config.json with the language stage changed. The
default seed is the validation seed; the measures are those `evaluate` reports
under "captioning" and "reranking".
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from omnivec_core.analysis.embeddings import embed_batch
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.evaluation.held_out import VALIDATION_SEED
from omnivec_core.evaluation.language import caption_accuracy, reranked_precision
from omnivec_core.train.checkpoint import CheckpointError, load_model


def measure(directory: Path, seed: int, n: int) -> dict:
    model, config = load_model(directory)
    if model.language is None:
        raise CheckpointError(f"{directory} has no text decoders (model.text_decoder_depth is 0)")
    batch = OmniShapes().render(n, seed=seed)
    with torch.no_grad():
        embedded = embed_batch(model, batch)
        steps = sum(s.steps for s in config.train.stages if "captioning" in s.objectives)
        return {"steps": steps,
                "captioning": caption_accuracy(model, batch),
                "reranking": reranked_precision(model, batch, embedded, "video")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", type=Path, help="model directories with text decoders")
    parser.add_argument("--seed", type=int, default=VALIDATION_SEED, help=f"events' seed (default {VALIDATION_SEED})")
    parser.add_argument("--n", type=int, default=1000, help="events (default 1000)")
    args = parser.parse_args(argv)
    try:
        rows = [(d, measure(d, args.seed, args.n)) for d in args.models]
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"seed {args.seed}, {args.n} events; captions: share of greedy captions naming the true class\n")
    print("| model | captioning steps | video shape / colour / motion / speed | audio motion | "
          "imu motion | text->video P@1 contrastive / re-ranked |")
    print("|---|---|---|---|---|---|")
    for directory, r in rows:
        video, rank = r["captioning"]["video"], r["reranking"]
        print(f"| {directory} | {r['steps']:,} | {video['shape']:.3f} / {video['colour']:.3f} / "
              f"{video['motion']:.3f} / {video['speed']:.3f} | {r['captioning']['audio']['motion']:.3f} | "
              f"{r['captioning']['imu']['motion']:.3f} | {rank['contrastive']:.3f} / {rank['reranked']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
