"""Markdown tables of an `evaluate --json` report, as the model card shows them.

  python -m omnivec_core.evaluate --checkpoint DIR --seed 424242 --n 1000 --json > eval.json
  python -m bench.eval_tables eval.json [validation.json]

With a second report (the validation seed), the summary table gives both seeds side by side.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ATTRIBUTES = ("shape", "colour", "motion", "size", "speed")


def per_attribute(title: str, scores: dict[str, dict[str, float]]) -> str:
    lines = [f"{title}\n", "| modality | " + " | ".join(ATTRIBUTES) + " |", "|---" * 6 + "|"]
    for m, by in scores.items():
        lines.append(f"| {m} | " + " | ".join(f"{by[a]:.3f}" if a in by else "-" for a in ATTRIBUTES) + " |")
    return "\n".join(lines)


def matrix(title: str, scores: dict, modalities: list[str], key: str | None = None) -> str:
    lines = [f"{title}\n", "| query \\ target | " + " | ".join(modalities) + " |", "|---" * (len(modalities) + 1) + "|"]
    for a in modalities:
        cells = []
        for b in modalities:
            value = scores.get(f"{a}->{b}")
            value = value[key] if key and value is not None else value
            cells.append("" if a == b else "-" if value is None else f"{value:.3f}")
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reconstruction(scores: dict) -> str:
    ratios = list(next(iter(scores.values())))
    lines = ["MAE reconstruction of the masked tokens against the mean-of-visible baseline (PSNR in dB; points: "
             "Chamfer distance, lower is better)\n", "| modality | " + " | ".join(f"mask {r}" for r in ratios) + " |",
             "|---" * (len(ratios) + 1) + "|"]
    for m, by in scores.items():
        cells = [f"{s['psnr']:.2f} vs {s['baseline_psnr']:.2f} ({s['psnr'] - s['baseline_psnr']:+.2f})" if "psnr" in s
                 else f"{s['chamfer']:.4f} vs {s['baseline_chamfer']:.4f}" for s in by.values()]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(reports: list[dict]) -> str:
    def means(r):
        precision = r["attribute_precision"]
        text = [v for k, v in precision.items() if "text" in k.split("->")]
        return {"mean attribute P@1, every pair": sum(precision.values()) / len(precision),
                "mean attribute P@1, pairs with text": sum(text) / len(text),
                "mean instance R@1, every pair": sum(v["R@1"] for v in r["retrieval"].values()) / len(r["retrieval"]),
                "video->audio instance R@1": r["retrieval"].get("video->audio", {}).get("R@1"),
                "text->video attribute P@1": precision.get("text->video")}
    rows = [means(r) for r in reports]
    head = "| measure | " + " | ".join(f"seed {r['seed']}" for r in reports) + " |"
    lines = [head, "|---" * (len(reports) + 1) + "|"]
    lines += [f"| {k} | " + " | ".join("-" if row[k] is None else f"{row[k]:.3f}" for row in rows) + " |"
              for k in rows[0]]
    for r in reports[:1]:
        if "reranking" in r:
            lines.append(f"| text->video attribute P@1, contrastive / re-ranked (first {r['reranking']['queries']}) | "
                         + " | ".join(f"{x['reranking']['contrastive']:.3f} / {x['reranking']['reranked']:.3f}"
                                      for x in reports) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", nargs="+", type=Path, help="evaluate --json reports (evaluation seed first)")
    paths = parser.parse_args(argv).reports
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        sys.exit(f"no such report: {', '.join(missing)}")
    reports = [json.loads(p.read_text()) for p in paths]
    report = reports[0]
    modalities = list(report["linear_probe"])
    parts = [summary(reports),
             per_attribute("Linear-probe accuracy from the frozen vectors", report["linear_probe"]),
             matrix(f"Instance retrieval R@1 among {report['n']} events", report["retrieval"], modalities, "R@1"),
             matrix("Attribute precision@1 (the top-1 agrees with the query on every attribute both observe)",
                    report["attribute_precision"], modalities),
             per_attribute("Zero-shot accuracy (nearest class prompt in text)", report["zero_shot"])]
    if "captioning" in report:
        parts.append(per_attribute("Greedy captions naming the true class", report["captioning"]))
    parts.append(reconstruction(report["reconstruction"]))
    print("\n\n".join(parts))


if __name__ == "__main__":
    main(sys.argv[1:])
