"""The evaluation's command line: `python -m omnivec_core.evaluate --checkpoint DIR [--seed S] [--n N] [--json]
[--save]` on held-out OmniShapes events, or `--data DIR` on the held-out split of a folder of your own media."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .analysis.folder_gallery import read_folder
from .evaluation.folder import evaluate_folder, format_folder_report
from .evaluation.held_out import HELD_OUT_SEED, evaluate, format_report
from .io import write_json
from .model import OmniVec
from .train.checkpoint import CheckpointError, load_model
from .train.trainer import resolve_device


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m omnivec_core.evaluate",
        description="Evaluate a model directory on held-out OmniShapes events: linear probe per modality and "
                    "attribute, instance retrieval R@1/5/10 and median rank and attribute precision@1 for every "
                    "ordered modality pair, zero-shot accuracy from class prompts, MAE PSNR at mask ratios "
                    "0.5/0.75/0.9 beside a mean-patch baseline. The probe is fitted on seed+1 and scored on --seed.")
    parser.add_argument("--checkpoint", type=Path, default=Path("checkpoints/omnivec-default"),
                        help="model directory (default: the bundled model)")
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="held-out OmniShapes seed")
    parser.add_argument("--n", type=int, default=1000, help="events (the retrieval gallery size)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--save", action="store_true", help="also write eval.json into the model directory")
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="evaluate on the held-out split of a folder of your own media instead: class probe, "
                             "zero-shot class, retrieval between what co-occurs, caption attribute precision")
    args = parser.parse_args(argv)
    if args.n < 10:
        print("error: --n must be at least 10", file=sys.stderr)
        return 2
    try:
        device = resolve_device(args.device)
        model, config = load_model(args.checkpoint, device)
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.data is not None:
        return evaluate_on_folder(model, args.data, args.json, args.checkpoint if args.save else None)
    with torch.no_grad():
        report = evaluate(model, config, args.seed, args.n, device)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    if args.save:
        write_json(args.checkpoint / "eval.json", report)
    return 0


def evaluate_on_folder(model: OmniVec, root: Path, as_json: bool, save_to: Path | None) -> int:
    try:
        report = evaluate_folder(model, read_folder(root))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if as_json else format_folder_report(report))
    if save_to is not None:
        write_json(save_to / f"eval-{root.resolve().name}.json", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
