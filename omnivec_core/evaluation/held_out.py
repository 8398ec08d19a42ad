"""Held-out OmniShapes evaluation: linear probes, retrieval and attribute precision for every modality pair,
zero-shot classification from class prompts, MAE PSNR, and for a model with OmniVL's decoders its captions
and re-ranking. Its command line is `python -m omnivec_core.evaluate`."""
from __future__ import annotations

import math

import torch
from tqdm import tqdm

from ..analysis.embeddings import embed_batch
from ..config import ExperimentConfig
from ..data.omnishapes import ATTRIBUTES, OmniShapes
from ..modalities import CAPTIONS, REGISTRY, anchor_of
from ..model import OmniVec
from ..objectives.losses import mean_of_visible
from .language import caption_accuracy, reranked_precision
from .pairs import pair_matrix, pair_scores, zero_shot_scores
from .probes import linear_probe

MASK_RATIOS = (0.5, 0.75, 0.9)
HELD_OUT_SEED = 424242  # far from every training seed (seed*1000 + rank) and from the quick-eval seed
# Model selection and diagnostics use this seed, so the held-out evaluation seed is never tuned on.
VALIDATION_SEED = 31337


def probe_scores(model: OmniVec, train_batch, test_batch) -> dict[str, dict[str, float]]:
    train = embed_batch(model, train_batch)
    test = embed_batch(model, test_batch)
    out = {}
    for m in model.cfg.modalities:
        out[m] = {a: linear_probe(train[m]["vector"].numpy(), train_batch.labels[a].cpu().numpy(),
                                  test[m]["vector"].numpy(), test_batch.labels[a].cpu().numpy())
                  for a in REGISTRY[m].observes}
    return out


@torch.no_grad()
def reconstruction_scores(model: OmniVec, batch, mask_types: dict[str, str], chunk: int = 128) -> dict:
    """PSNR on masked tokens at several ratios beside a baseline that fills each masked token with
    the mean of the sample's visible tokens. Points report Chamfer distance (lower is better)."""
    out = {}
    generator = torch.Generator(device=batch.index.device).manual_seed(0)
    for m in (REGISTRY[m] for m in model.cfg.modalities if REGISTRY[m].reconstruct):
        x = m.batch_input(batch)
        out[m.name] = scores = {}
        for ratio in MASK_RATIOS:
            sums = {"model": 0.0, "baseline": 0.0}
            count, low, high = 0.0, math.inf, -math.inf
            for start in range(0, len(x), chunk):
                piece = x[start:start + chunk]
                encoded = model.encode(m.name, piece, ratio, mask_types.get(m.name, "random"), generator, for_mae=True)
                res = model.reconstruct(encoded, piece)
                mask, target = res.mask, res.target.float()
                for name, guess in (("model", res.prediction.float()), ("baseline", mean_of_visible(res))):
                    sums[name] += (m.token_error(guess.float(), target) * mask).sum().item()
                count += mask.sum().item()
                low, high = min(low, target.min().item()), max(high, target.max().item())
            score = {name: m.reconstruction_score(total / count, high - low) for name, total in sums.items()}
            scores[str(ratio)] = {m.metric: score["model"], f"baseline_{m.metric}": score["baseline"]}
    return out


def evaluate(model: OmniVec, config: ExperimentConfig, seed: int, n: int, device) -> dict:
    world = OmniShapes()
    steps = tqdm(total=5 + (model.language is not None), desc="evaluating", unit="part")
    test = world.render(n, seed=seed, device=device)
    probe_train = world.render(n, seed=seed + 1, device=device)
    steps.update()
    probes = probe_scores(model, probe_train, test)
    steps.update()
    embedded = embed_batch(model, test)
    captions = [row[0] for row in test[CAPTIONS]] if CAPTIONS in test else [""] * n
    instance, attributes = pair_scores(model, test.labels, captions, embedded)
    steps.update()
    zero_shot = zero_shot_scores(model, test.labels, embedded)
    steps.update()
    reconstruction = reconstruction_scores(model, test, config.train.mask_type)
    steps.update()
    report = {"seed": seed, "n": n, "preset": config.preset, "linear_probe": probes, "retrieval": instance,
              "attribute_precision": attributes, "zero_shot": zero_shot, "reconstruction": reconstruction}
    if model.language is not None:  # OmniVL's decoders: what the captions say, and re-ranking by matching
        report["captioning"] = caption_accuracy(model, test)
        anchor = anchor_of(model.cfg.modalities)  # the clips captions describe: what re-ranking reads
        if anchor is not None:
            report["reranking"] = reranked_precision(model, test, embedded, anchor)
        steps.update()
    steps.close()
    return report


def format_report(report: dict) -> str:
    lines = [f"OmniVec evaluation: preset {report['preset']}, held-out seed {report['seed']}, {report['n']} events", ""]
    lines.append("Linear probe accuracy (frozen vectors)")
    attrs = list(ATTRIBUTES)
    lines.append(f"  {'modality':<8} " + " ".join(f"{a:>7}" for a in attrs))
    for m, scores in report["linear_probe"].items():
        lines.append(f"  {m:<8} " + " ".join(f"{scores[a]:>7.3f}" if a in scores else f"{'-':>7}" for a in attrs))
    modalities = list(report["linear_probe"])
    lines += ["", *matrix_lines("Instance retrieval R@1 (rows: query, columns: target)",
                                pair_matrix(report["retrieval"], modalities, "R@1"), modalities)]
    lines += ["", *matrix_lines("Attribute precision@1: the top-1 agrees on every attribute both observe",
                                pair_matrix(report["attribute_precision"], modalities), modalities)]
    lines += ["", "Zero-shot accuracy (nearest class prompt in text)", f"  {'modality':<8} " +
              " ".join(f"{a:>7}" for a in attrs)]
    for m, scores in report.get("zero_shot", {}).items():
        lines.append(f"  {m:<8} " + " ".join(f"{scores[a]:>7.3f}" if a in scores else f"{'-':>7}" for a in attrs))
    if "captioning" in report:
        lines += ["", "Captions (greedy) naming the true class, on the attributes each modality observes",
                  f"  {'modality':<8} " + " ".join(f"{a:>7}" for a in attrs)]
        for m, scores in report["captioning"].items():
            lines.append(f"  {m:<8} " + " ".join(f"{scores[a]:>7.3f}" if a in scores else f"{'-':>7}" for a in attrs))
    if "reranking" in report:
        r = report["reranking"]
        lines += ["", f"text->video attribute precision@1 over {r['queries']} captions: contrastive {r['contrastive']:.3f}, "
                      f"after the alignment decoder re-ranks the top {r['top']}: {r['reranked']:.3f}"]
    lines += ["", "MAE reconstruction on masked tokens (model vs mean-of-visible baseline)"]
    for m, by_ratio in report["reconstruction"].items():
        cells = []
        for ratio, s in by_ratio.items():
            if "psnr" in s:
                cells.append(f"r={ratio}: {s['psnr']:.2f} dB vs {s['baseline_psnr']:.2f}")
            else:
                cells.append(f"r={ratio}: chamfer {s['chamfer']:.4f} vs {s['baseline_chamfer']:.4f}")
        lines.append(f"  {m:<8} " + " | ".join(cells))
    return "\n".join(lines)


def matrix_lines(title: str, matrix: torch.Tensor, modalities: list[str]) -> list[str]:
    """A modality x modality table as text, '-' where a pair has no score."""
    lines = [title, "  " + " " * 8 + " ".join(f"{m:>7}" for m in modalities)]
    for m, row in zip(modalities, matrix.tolist()):
        lines.append(f"  {m:<8}" + " ".join(f"{v:>7.3f}" if v == v else f"{'-':>7}" for v in row))
    return lines
