"""python -m omnivec_core.train: train an OmniVec model on OmniShapes (also under torchrun)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import PRESETS, ExperimentConfig
from .checkpoint import CheckpointError
from ..analysis.folder_gallery import read_folder
from .plans import FOLDER_STEPS, build_config, folder_finetune, on_folder
from .trainer import NonFiniteLoss, Trainer


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m omnivec_core.train",
        description="Train an OmniVec model on the procedural OmniShapes world: masked pretraining, "
                    "cross-modal alignment, then multi-task fine-tuning. Writes config.json, "
                    "model.safetensors, metrics.jsonl and resumable training state to --out. "
                    "Run under `torchrun --nproc_per_node N` for data-parallel training.")
    parser.add_argument("--preset", choices=PRESETS, default="tiny",
                        help="model and schedule size: lesson (CPU, two minutes: picture, clip, sound, text), tiny (CPU, about ten "
                             "minutes, all seven), small (GPU), base (ViT-S width)")
    parser.add_argument("--config", type=Path, help="a plan file or config.json to train instead of the preset: "
                                                    "its keys override the defaults of omnivec_core.config, and its "
                                                    "stages run in order, each with its own frozen parts, MAE "
                                                    "settings and schedule")
    parser.add_argument("--steps", type=int, help="total steps; the stage plan keeps its proportions")
    parser.add_argument("--batch-size", type=int, help="events per step and per process")
    parser.add_argument("--lr", type=float, help="peak learning rate of every schedule whose first stage sets none")
    parser.add_argument("--seed", type=int, help="initialisation and data seed")
    parser.add_argument("--out", type=Path, default=Path("runs/latest"), help="model directory to write (default runs/latest)")
    parser.add_argument("--resume", action="store_true", help="continue the run saved in --out on the same schedule")
    parser.add_argument("--init", type=Path, metavar="DIR",
                        help="start from the weights of the model directory DIR and run this config's plan from "
                             "step 0 with a fresh optimizer, e.g. to fine-tune further; the config may add parts "
                             "(such as model.time_profile), which start from their initialisation")
    parser.add_argument("--from-stage", metavar="NAME",
                        help="with --init DIR, a model trained by a plan whose stages before NAME are this "
                             "config's: start this plan at stage NAME, as a full run would reach it (what the "
                             "earlier stages train comes from DIR, the rest from initialisation), to change or "
                             "insert a late stage without training the earlier ones again")
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="also train on a folder of your own media (class folders of clips, sounds with a "
                             "metadata CSV, meshes, images; a captions.csv): its train split, with a head for its "
                             "classes. With --init and no --config: fine-tune that model on it "
                             f"({FOLDER_STEPS} steps unless --steps)")
    parser.add_argument("--data-share", type=float, default=1.0, metavar="S",
                        help="share of the steps drawn from --data, the rest from OmniShapes (default 1: all)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where to train")
    parser.add_argument("--compile", action="store_true", help="torch.compile the transformer blocks")
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs to OUT/tensorboard")
    parser.add_argument("--log-every", type=int, default=10, help="steps between metrics.jsonl lines")
    parser.add_argument("--timeline-every", type=int, default=0, metavar="N",
                        help="every N steps (and at the first and last), embed a fixed probe of 200 held-out "
                             "OmniShapes events in every modality and add the snapshot to OUT/timeline.safetensors, "
                             "which the Embedding map tab's timeline scrubs through (default 0: off)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.resume and not (args.out / "config.json").is_file():
            raise ValueError(f"nothing to resume: {args.out} has no config.json")
        if args.resume and args.init:
            raise ValueError("--resume continues a run and --init starts one; give only one")
        if args.steps is not None and args.steps < 1:
            raise ValueError("--steps must be at least 1")
        if args.timeline_every < 0:
            raise ValueError("--timeline-every must be 0 (off) or at least 1")
        finetune = folder_finetune(args.init / "config.json") if args.data and args.init and not args.config else None
        config = ExperimentConfig.load(args.out / "config.json") if args.resume else build_config(
            args.config, args.preset, args.steps, args.batch_size, args.lr, args.seed,
            plan=finetune.to_dict() if finetune else None)
        if args.data and not args.resume:
            on_folder(config, args.data, read_folder(args.data).classes, args.data_share)
        trainer = Trainer(config, args.out, args.device, args.resume, args.tensorboard, args.log_every, args.init,
                          args.compile, args.timeline_every, args.from_stage)
        out = trainer.run()
    except (ValueError, CheckpointError, NonFiniteLoss) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if trainer.rt.is_main:
        print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
