"""python -m omnivec_core.train: train an OmniVec model on OmniShapes (also under torchrun)."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from ..config import PRESETS, ExperimentConfig, StageConfig, preset
from .checkpoint import CheckpointError
from .trainer import NonFiniteLoss, Trainer


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m omnivec_core.train",
        description="Train an OmniVec model on the procedural OmniShapes world: masked pretraining, "
                    "cross-modal alignment, then multi-task fine-tuning. Writes config.json, "
                    "model.safetensors, metrics.jsonl and resumable training state to --out. "
                    "Run under `torchrun --nproc_per_node N` for data-parallel training.")
    parser.add_argument("--preset", choices=PRESETS, default="tiny",
                        help="model and schedule size: tiny (CPU, minutes), small (bundled model), base (ViT-S)")
    parser.add_argument("--config", type=Path, help="a config.json (as written in a model directory) to start from "
                                                    "instead of the preset")
    parser.add_argument("--steps", type=int, help="total steps; the stage plan keeps its proportions")
    parser.add_argument("--batch-size", type=int, help="events per step and per process")
    parser.add_argument("--lr", type=float, help="peak learning rate")
    parser.add_argument("--seed", type=int, help="initialisation and data seed")
    parser.add_argument("--out", type=Path, default=Path("runs/latest"), help="model directory to write (default runs/latest)")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --out on the same schedule")
    parser.add_argument("--init", type=Path, metavar="DIR",
                        help="start from the weights of the model directory DIR and run this config's plan from "
                             "step 0 with a fresh optimizer, e.g. to fine-tune further; the config may add parts "
                             "(such as model.fine_time_profile), which start from their initialisation")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to train")
    parser.add_argument("--compile", action="store_true", help="torch.compile the transformer blocks")
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs to OUT/tensorboard")
    parser.add_argument("--log-every", type=int, default=10, help="steps between metrics.jsonl lines")
    return parser.parse_args(argv)


def scale_stages(stages: list[StageConfig], steps: int) -> list[StageConfig]:
    """Keep each stage's share of the plan at a new total; every stage keeps at least one step."""
    total = sum(s.steps for s in stages)
    scaled = [dataclasses.replace(s, steps=max(1, round(s.steps * steps / total)), objectives=dict(s.objectives))
              for s in stages]
    scaled[-1].steps = max(1, steps - sum(s.steps for s in scaled[:-1]))
    return scaled


def build_config(args: argparse.Namespace) -> ExperimentConfig:
    config = ExperimentConfig.load(args.config) if args.config else preset(args.preset)
    train = config.train
    if args.steps is not None:
        if args.steps < 1:
            raise ValueError("--steps must be at least 1")
        train.stages = scale_stages(train.stages, args.steps)
        train.warmup_steps = min(train.warmup_steps, max(1, args.steps // 10))
    for name in ("batch_size", "lr", "seed"):
        if getattr(args, name) is not None:
            setattr(train, name, getattr(args, name))
    train.compile = train.compile or args.compile
    return config


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.resume and not (args.out / "config.json").is_file():
            raise ValueError(f"nothing to resume: {args.out} has no config.json")
        config = ExperimentConfig.load(args.out / "config.json") if args.resume else build_config(args)
        if args.resume and args.init:
            raise ValueError("--resume continues a run and --init starts one; give only one")
        trainer = Trainer(config, args.out, args.device, args.resume, args.tensorboard, args.log_every, args.init)
        out = trainer.run()
    except (ValueError, CheckpointError, NonFiniteLoss) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if trainer.rt.is_main:
        print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
