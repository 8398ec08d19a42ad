"""Training-step throughput of OmniVec beside timm's VisionTransformer, in one run.

    python -m bench.train_throughput --device cuda            # the H100 tables of BENCHMARKS.md
    python -m bench.train_throughput --device cpu --quick     # a smoke run of every row on a CPU

Rows: the base preset (ViT-S width) on image-only, video-only and every-modality batches (all seven),
eager and torch.compile'd as `train --compile` compiles (each block, dynamic shapes), each beside timm's ViT with the same width, depth, heads and token count (ratio
printed); the MAE step at 0/75/90/95 % masking; DropToken at 0/25/50/75 %; and the share of a
step the OmniShapes renderer takes. FLOPs are counted with torch.utils.flop_counter; the peak is
measured in the same run with a large bf16 matmul, so MFU = achieved / measured peak.
"""
from __future__ import annotations

import argparse
import time


import torch
from torch.utils.flop_counter import FlopCounterMode

from omnivec_core.config import preset
from omnivec_core.constants import PATCH
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.modalities import IMAGE, REGISTRY, VIDEO
from omnivec_core.model import OmniVec
from omnivec_core.objectives.losses import mae_loss


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(call, device, warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        call()
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    sync(device)
    return (time.perf_counter() - start) / repeats


def flops_of(call) -> float:
    with FlopCounterMode(display=False) as counter:
        call()
    return counter.get_total_flops()


def peak_flops(device: torch.device, size: int) -> float:
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    a, b = torch.randn(size, size, device=device, dtype=dtype), torch.randn(size, size, device=device, dtype=dtype)
    seconds = seconds_per_call(lambda: a @ b, device, 3, 10)
    return 2 * size**3 / seconds


class Bench:
    def __init__(self, args):
        self.device = torch.device(args.device)
        self.args = args
        self.amp = self.device.type == "cuda"
        self.peak = peak_flops(self.device, 8192 if self.device.type == "cuda" else 1024)
        self.rows: list[tuple] = []

    def step_fn(self, model, optimizer, loss_fn):
        def step():
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                loss = loss_fn()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return step

    def measure(self, name: str, model, loss_fn, batch: int):
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=self.device.type == "cuda")
        step = self.step_fn(model, optimizer, loss_fn)
        flops = flops_of(step)
        seconds = seconds_per_call(step, self.device, self.args.warmup, self.args.repeats)
        self.rows.append((name, batch / seconds, flops / seconds / self.peak, seconds * 1000))
        return batch / seconds

    def print(self) -> None:
        print(f"peak measured with a large {'bf16' if self.amp else 'fp32'} matmul: {self.peak / 1e12:.1f} TFLOP/s")
        print(f"{'row':<58} {'samples/s':>10} {'MFU':>6} {'ms/step':>9}")
        for name, rate, mfu, ms in self.rows:
            print(f"{name:<58} {rate:>10.1f} {mfu:>6.1%} {ms:>9.1f}")


def timm_vit(cfg, tokens_per_side: int, frames: int = 1):
    """timm's VisionTransformer with OmniVec's width/depth/heads over the same token count."""
    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer(img_size=tokens_per_side * PATCH, patch_size=PATCH, in_chans=3 * frames,
                             embed_dim=cfg.width, depth=cfg.depth, num_heads=cfg.heads, num_classes=0,
                             global_pool="avg", class_token=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="tiny batches and few repeats (CPU smoke run)")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.batch, args.warmup, args.repeats = 4, 1, 2
    bench = Bench(args)
    device, batch = bench.device, args.batch
    cfg = preset("base").model
    world = OmniShapes()
    data = world.render(batch, seed=0, device=device)
    torch.manual_seed(0)

    def vectors_loss(model, inputs):
        return sum(e.vector.float().square().mean() for e in model.encode_many(inputs).values())

    every = f"all {len(cfg.modalities)} modalities"
    shapes = {"image (64 tokens)": {"image": data[IMAGE]}, "video (256 tokens)": {"video": data[VIDEO]},
              every: {m: REGISTRY[m].batch_input(data) for m in cfg.modalities}}
    for label, inputs in shapes.items():
        for compiled in (False, True) if not args.no_compile else (False,):
            model = OmniVec(cfg).to(device).train()
            if compiled:
                for block in model.backbone.stacks["shared"]:
                    block.compile(dynamic=True)  # as the trainer compiles them
            ours = bench.measure(f"OmniVec base, {label}{', compiled' if compiled else ''}", model,
                                 lambda: vectors_loss(model, inputs), batch)
            if label != every:
                frames = 2 if label.startswith("video") else 1
                side = 8 if frames == 1 else 16  # timm sees 256 tokens of 2-frame channels for the video row
                vit = timm_vit(cfg, side, frames).to(device).train()
                if compiled:
                    vit = torch.compile(vit)
                pixels = torch.randn(batch, 3 * frames, side * PATCH, side * PATCH, device=device)
                theirs = bench.measure(f"timm ViT, same shape{', compiled' if compiled else ''}", vit,
                                       lambda: vit(pixels).float().square().mean(), batch)
                bench.rows.append(("  ratio OmniVec / timm", ours / theirs, float("nan"), float("nan")))
    model = OmniVec(cfg).to(device).train()
    for ratio in (0.0, 0.75, 0.9, 0.95):
        def mae_step(r=ratio):
            encoded = model.encode("video", data[VIDEO], max(r, 1e-6), "tube", for_mae=True)
            return mae_loss("video", model.reconstruct(encoded, data[VIDEO]))
        bench.measure(f"MAE step, video, {ratio:.0%} masked", model, mae_step, batch)
    for rate in (0.0, 0.25, 0.5, 0.75):
        bench.measure(f"DropToken {rate:.0%}, video", model,
                      lambda r=rate: model.encode("video", data[VIDEO], r).vector.float().square().mean(), batch)
    render = seconds_per_call(lambda: world.render(batch, seed=1, device=device), device, 1, max(2, args.repeats // 4))
    step = bench.rows[-4][3] / 1000
    bench.rows.append(("renderer, every modality, share of a DropToken-0 step", batch / render,
                       render / (render + step), render * 1000))
    bench.print()


if __name__ == "__main__":
    main()
