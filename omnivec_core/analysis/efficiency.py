"""DropToken trade-offs (VATT): backbone FLOPs, latency, retrieval and probe accuracy per drop rate."""
from __future__ import annotations

import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ..data.omnishapes import OmniShapes
from ..evaluation.held_out import VALIDATION_SEED
from ..evaluation.probes import linear_probe
from ..evaluation.retrieval import recall_at
from ..modalities import AUDIO, VIDEO
from ..model import OmniVec

DEFAULT_RATES = (0.0, 0.25, 0.5, 0.75)


@torch.no_grad()
def encode_flops(model: OmniVec, modality: str, x, rate: float) -> float:
    """FLOPs of encoding one sample (stem, projection and backbone), counted by torch's flop counter."""
    with FlopCounterMode(display=False) as counter:
        model.encode(modality, x, rate)
    return counter.get_total_flops() / len(x)


@torch.no_grad()
def latency_ms(model: OmniVec, modality: str, x, rate: float, repeats: int = 5) -> float:
    """Median wall time of encoding `x` (warm), in milliseconds."""
    model.encode(modality, x, rate)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.encode(modality, x, rate)
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


@torch.no_grad()
def droptoken_point(model: OmniVec, rates: dict[str, float], n: int = 256, seed: int = VALIDATION_SEED
                    ) -> dict[str, float]:
    """At per-modality drop `rates`: video GFLOPs and latency per clip, video->audio R@1 among n,
    and a video linear-probe accuracy on motion (half the events fit the probe, half score it)."""
    device = next(model.parameters()).device
    batch = OmniShapes().render(n, seed=seed, device=device, modalities=(VIDEO, AUDIO))
    generator = torch.Generator(device=device).manual_seed(0)
    video_rate, audio_rate = rates.get(VIDEO, 0.0), rates.get(AUDIO, 0.0)
    video = model.encode(VIDEO, batch[VIDEO], video_rate, generator=generator)
    audio = model.encode(AUDIO, batch[AUDIO], audio_rate, generator=generator)
    space = model.embedding.pair_space(VIDEO, AUDIO)
    recall = recall_at(model.embed(video)[space] @ model.embed(audio)[space].t())["R@1"]
    features, labels = video.vector.float().cpu().numpy(), batch.labels["motion"].cpu().numpy()
    half = n // 2
    probe = linear_probe(features[:half], labels[:half], features[half:], labels[half:])
    return {"video_gflops": encode_flops(model, VIDEO, batch[VIDEO][:1], video_rate) / 1e9,
            "video_latency_ms": latency_ms(model, VIDEO, batch[VIDEO][:1], video_rate),
            "video->audio R@1": recall, "video motion probe": probe}


def droptoken_curve(model: OmniVec, rates=DEFAULT_RATES, n: int = 256, progress=None) -> list[dict[str, float]]:
    """The same point at each overall rate, video and audio dropped alike; `progress(share_done, rate)`
    is called before each point."""
    curve = []
    for i, rate in enumerate(rates):
        if progress is not None:
            progress(i / len(rates), rate)
        curve.append({"rate": rate, **droptoken_point(model, {VIDEO: rate, AUDIO: rate}, n)})
    return curve

