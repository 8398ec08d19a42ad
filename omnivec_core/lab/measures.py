"""Measurements some tables take beside (or instead of) the evaluate report: DropToken's encoding cost, backbone
sizes, MMV's deflation ways, OmniMAE's sample replication. Each takes the row's context
(`omnivec_core.lab.runner.RowContext`: its config, model directory, trained model, device, budget and a memo
shared by the table's rows)."""
from __future__ import annotations

import argparse

from ..analysis.deflation import deflation_table
from ..analysis.efficiency import encode_flops
from ..data.omnishapes import OmniShapes
from ..modalities import IMAGE, VIDEO
from . import replication as sample_replication


def droptoken_cost(ctx) -> dict[str, float]:
    """GFLOPs of encoding one clip at the row's training DropToken rate (stem, projection, transformer)."""
    rate = ctx.config.train.droptoken.get(VIDEO, 0.0)
    clip = OmniShapes().render(1, seed=0, modalities=(VIDEO,), device=ctx.device)[VIDEO]
    return {"video GFLOPs": encode_flops(ctx.model, VIDEO, clip, rate) / 1e9}


def parameters(ctx) -> dict[str, float]:
    """Millions of trainable parameters, in all and in the backbone."""
    model = ctx.model
    count = lambda module: sum(p.numel() for p in module.parameters() if p.requires_grad) / 1e6  # noqa: E731
    return {"params (M)": count(model), "backbone params (M)": count(model.backbone)}


def deflation_way(ways: dict[str, str]):
    """A row's way of feeding stills to the video network (`ways`: row name -> the way's name in
    `omnivec_core.analysis.deflation`), from MMV's deflation table of the seed's one model (computed once for
    all its rows)."""
    def extra(ctx) -> dict[str, float]:
        key = ("deflation", str(ctx.run))
        if key not in ctx.memo:
            ctx.memo[key] = deflation_table(ctx.model, n_events=ctx.events)
        table = ctx.memo[key]
        return {**table["ways"][ways[ctx.row.name]], "correction fit L1": table["correction"]["fit L1 last"]}
    return extra


REPLICAS = (1, 2, 4)


def replication(replicas: int):
    """A row of OmniMAE's sample replication: MAE alone on image and video with each event repeated `replicas`
    times (lab/replication.py), its held-out loss curve over training seconds, at the table's step budget, the
    base config's model and batch size and the row's training seed. The settings of REPLICAS train step by step
    in turn, once per seed and invocation (the first row to run trains them all), so a change in the machine's
    load falls on each."""
    def run(ctx) -> dict:
        batch = ctx.config.train.batch_size
        args = argparse.Namespace(replicas=list(REPLICAS), steps=ctx.steps, batch=batch - batch % 4,
                                  every=max(1, ctx.steps // 20), modalities=[IMAGE, VIDEO],
                                  events=min(ctx.events, 64), target=None, device=str(ctx.device),
                                  seed=ctx.config.train.seed, model=ctx.config.model)
        key = ("replication", args.seed)
        if key not in ctx.memo:
            sample_replication.warm_up(args)  # torch's one-time costs out of the timed runs
            ctx.memo[key] = sample_replication.run(args)
        result = ctx.memo[key][replicas]
        curve = [list(point) for point in result["curve"]]
        return {"metrics": {"median s/step": result["step s"], "median render s": result["render s"],
                            "final loss": curve[-1][2]},
                "curve": curve, "setup": {k: v for k, v in vars(args).items() if k not in ("device", "model")}}
    return run


def time_to_target(results: dict[str, dict]) -> None:
    """Seconds and steps each replication row takes to reach the held-out MAE loss n=1 has halfway."""
    if "n=1" not in results or "curve" not in results["n=1"]:
        return
    target = sample_replication.halfway_loss(results["n=1"]["curve"])
    for result in results.values():
        hit = sample_replication.reached(result.get("curve", []), target)
        result["metrics"]["target loss"] = target
        if hit is not None:
            result["metrics"].update({"steps to target": float(hit[0]), "s to target": float(hit[1])})
