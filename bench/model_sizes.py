"""Print trainable parameter counts per preset and per model part (frozen MiniLM listed apart).

    python -m bench.model_sizes [--presets tiny small ...]   # default: every preset
"""
from __future__ import annotations

import argparse


from omnivec_core.config import PRESETS, preset
from omnivec_core.model import OmniVec

PARTS = ("stems", "meta", "backbone", "vectorizer", "embedding", "tasks", "decoder")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", choices=PRESETS, default=list(PRESETS),
                        help="presets to count (default: every preset)")
    args = parser.parse_args(argv)
    print(f"{'preset':<7} {'width':>5} {'depth':>5} {'heads':>5} " + " ".join(f"{p:>10}" for p in PARTS)
          + f" {'trainable':>10} {'frozen':>10}")
    for name in args.presets:
        cfg = preset(name).model
        model = OmniVec(cfg)
        counts = {part: sum(p.numel() for p in getattr(model, part).parameters() if p.requires_grad) for part in PARTS}
        trainable = sum(counts.values())
        frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
        print(f"{name:<7} {cfg.width:>5} {cfg.depth:>5} {cfg.heads:>5} "
              + " ".join(f"{counts[p] / 1e6:>9.2f}M" for p in PARTS)
              + f" {trainable / 1e6:>9.2f}M {frozen / 1e6:>9.2f}M")


if __name__ == "__main__":
    main()
