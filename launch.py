"""python launch.py: start the OmniVec Explorer app in the browser (127.0.0.1:7860 by default)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent / "checkpoints" / "omnivec-small"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="OmniVec Explorer: look inside a unified multimodal transformer.")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                        help=f"model directory (config.json + model.safetensors); default {DEFAULT_CHECKPOINT}")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where the model runs")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link (off by default)")
    return parser.parse_args(argv)


def describe_model(checkpoint: Path, device: str) -> str:
    """Load the model directory to check it, and say what it is (or why there is none)."""
    from omnivec_core.train.checkpoint import CheckpointError, load_model
    from omnivec_core.train.trainer import resolve_device

    if not checkpoint.exists():
        return (f"No trained model at `{checkpoint}` yet: train one with "
                f"`python -m omnivec_core.train --preset tiny --out {checkpoint}`.")
    try:
        model, config = load_model(checkpoint, resolve_device(device))
    except (CheckpointError, ValueError) as error:
        return f"The model at `{checkpoint}` could not be loaded: {error}"
    params = sum(p.numel() for p in model.trainable_state_dict().values()) / 1e6
    return f"Model: `{checkpoint.name}`, preset {config.preset}, {params:.1f} M trained parameters."


def main(argv=None) -> int:
    args = parse_args(argv)
    from app.main import build_app

    demo = build_app(describe_model(args.checkpoint, args.device))
    demo.queue().launch(server_name=args.host, server_port=args.port, share=args.share,
                        max_file_size="50mb", show_error=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
