"""What OmniVL's text decoders say, model by model: caption accuracy per modality and attribute, and
text->video attribute P@1 before and after the alignment decoder re-ranks the contrastive top 10.

    python bench/decoder_memory.py MODEL_DIR [MODEL_DIR ...] [--seed 31337] [--n 1000]
    python bench/decoder_memory.py --train tokens --init OLD --out runs/language-tokens   # then measure it

Meant to compare decoders trained on one frozen encoder. `--train READS` trains one: the bundled recipe's
stages through `language`, with `model.text_decoder_reads` READS, started at the language stage
(`train --from-stage language`) from OLD, a model the recipe's earlier stages made and whose plan ends at
the language stage, so only what the decoders read differs. The bundled model itself does not qualify
(its plan trains the image decoder again after the language stage); its predecessor does:

    mkdir OLD && for f in config.json model.safetensors; do
        git show 2a0680f:checkpoints/omnivec-default/$f > OLD/$f; done

The default seed is the validation seed; the measures are those `evaluate` reports under "captioning"
and "reranking".
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from omnivec_core.analysis.embeddings import embed_batch  # noqa: E402
from omnivec_core.config import TEXT_DECODER_READS  # noqa: E402
from omnivec_core.analysis.language_eval import caption_accuracy, reranked_precision  # noqa: E402
from omnivec_core.evaluate import VALIDATION_SEED  # noqa: E402
from omnivec_core.data.omnishapes import OmniShapes  # noqa: E402
from omnivec_core.train.checkpoint import CheckpointError, load_model  # noqa: E402
from omnivec_core.train.plans import build_config  # noqa: E402
from omnivec_core.train.trainer import Trainer  # noqa: E402

RECIPE = ROOT / "configs" / "omnivec-default.json"


def train_decoders(reads: str, init: Path, out: Path) -> Path:
    """The recipe through its language stage with the decoders reading `reads`, started at that stage
    from `init`."""
    config = build_config(RECIPE)
    config.model.text_decoder_reads = reads
    names = [s.name for s in config.train.stages]
    config.train.stages = config.train.stages[:names.index("language") + 1]
    return Trainer(config, out, init=init, from_stage="language").run()


def measure(directory: Path, seed: int, n: int) -> dict:
    model, config = load_model(directory)
    if model.language is None:
        raise CheckpointError(f"{directory} has no text decoders (model.text_decoder_depth is 0)")
    batch = OmniShapes().render(n, seed=seed)
    with torch.no_grad():
        embedded = embed_batch(model, batch)
        steps = sum(s.steps for s in config.train.stages if "captioning" in s.objectives)
        return {"reads": config.model.text_decoder_reads, "steps": steps,
                "captioning": caption_accuracy(model, batch),
                "reranking": reranked_precision(model, batch, embedded, "video")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", type=Path, help="model directories with text decoders")
    parser.add_argument("--train", choices=TEXT_DECODER_READS, help="train decoders reading this (needs --out)")
    parser.add_argument("--init", type=Path, help="with --train: the model to start at the language stage from")
    parser.add_argument("--out", type=Path, help="where --train writes its model")
    parser.add_argument("--seed", type=int, default=VALIDATION_SEED, help=f"events' seed (default {VALIDATION_SEED})")
    parser.add_argument("--n", type=int, default=1000, help="events (default 1000)")
    args = parser.parse_args(argv)
    if bool(args.train) != bool(args.out) or bool(args.train) != bool(args.init) or not (args.models or args.train):
        parser.error("give model directories to measure, or --train READS with --init OLD and --out DIR")
    try:
        if args.train:
            train_decoders(args.train, args.init, args.out)
            return 0
        rows = [(d, measure(d, args.seed, args.n)) for d in args.models]
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"seed {args.seed}, {args.n} events; captions: share of greedy captions naming the true class\n")
    print("| model | reads | captioning steps | video shape / colour / motion / speed | audio motion | "
          "imu motion | text->video P@1 contrastive / re-ranked |")
    print("|---|---|---|---|---|---|---|")
    for directory, r in rows:
        video, rank = r["captioning"]["video"], r["reranking"]
        print(f"| {directory} | {r['reads']} | {r['steps']:,} | {video['shape']:.3f} / {video['colour']:.3f} / "
              f"{video['motion']:.3f} / {video['speed']:.3f} | {r['captioning']['audio']['motion']:.3f} | "
              f"{r['captioning']['imu']['motion']:.3f} | {rank['contrastive']:.3f} / {rank['reranked']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
