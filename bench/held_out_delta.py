"""Every held-out OmniShapes figure of two models side by side: attribute P@1 of every pair, instance R@1,
zero-shot accuracy, linear probes, the captions' naming and MAE gains, from two `evaluate --json` reports of
the same seed and size, with B - A and the figures where B falls more than a tolerance below A.

    python -m omnivec_core.evaluate --checkpoint A --seed 424242 --n 1000 --json > a.json   # and b.json
    python -m bench.held_out_delta a.json b.json [--tolerance 0.02] [--markdown]

A figure only one report has (an attribute one model's modality no longer observes) is listed as such.
Exit status 0; the count of figures below tolerance is the last line.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.pair_gains import check_same_events

# Figures where higher is better, by report section; MAE gains (dB over the mean-of-visible guess) too.
SECTIONS = ("attribute_precision", "zero_shot", "linear_probe", "captioning")


def load(path: Path) -> dict:
    try:
        report = json.loads(path.read_text())
        report["seed"], report["n"]  # noqa: B018 - a report of evaluate names both
        return report
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a report of evaluate --json ({error!r})") from None


def flat_figures(report: dict) -> dict[str, float]:
    """section/key/attribute -> value for every figure compared."""
    out = {}
    for pair, value in report.get("attribute_precision", {}).items():
        out[f"attribute_precision/{pair}"] = value
    for pair, scores in report.get("retrieval", {}).items():
        out[f"retrieval R@1/{pair}"] = scores["R@1"]
    for section in SECTIONS[1:]:
        for modality, per_attribute in report.get(section, {}).items():
            for attribute, value in per_attribute.items():
                out[f"{section}/{modality}/{attribute}"] = value
    for modality, ratios in report.get("reconstruction", {}).items():
        for ratio, scores in ratios.items():
            if "psnr" in scores:
                out[f"mae_gain_db/{modality}/{ratio}"] = scores["psnr"] - scores["baseline_psnr"]
    if "reranking" in report:
        out["reranking/contrastive"] = report["reranking"]["contrastive"]
        out["reranking/reranked"] = report["reranking"]["reranked"]
    return {k: float(v) for k, v in out.items() if v is not None}


def compare(a: dict, b: dict, tolerance: float) -> tuple[list[tuple], list[str]]:
    """(rows (name, A, B, B-A, below), names only one report has)."""
    fa, fb = flat_figures(a), flat_figures(b)
    rows = []
    for name in fa:
        if name in fb:
            gated = not name.startswith(("retrieval", "mae_gain", "reranking"))  # the targets
            delta = fb[name] - fa[name]
            rows.append((name, fa[name], fb[name], delta, gated and delta < -tolerance))
    only = [f"{name} (A only)" for name in fa if name not in fb] + [f"{name} (B only)" for name in fb if name not in fa]
    return rows, only


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="report A, the model before (evaluate --json)")
    parser.add_argument("b", type=Path, help="report B, the model after, same seed and number of events")
    parser.add_argument("--tolerance", type=float, default=0.02,
                        help="how far B may fall below A on a gated figure (P@1, zero-shot, probes, captions)")
    parser.add_argument("--below-only", action="store_true", help="list only the figures below tolerance")
    args = parser.parse_args(argv)
    try:
        a, b = load(args.a), load(args.b)
        check_same_events(a, b)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows, only = compare(a, b, args.tolerance)
    print(f"seed {a['seed']}, {a['n']} events; A: {args.a}, B: {args.b}\n")
    print("| figure | A | B | B − A | |\n|---|---:|---:|---:|---|")
    for name, va, vb, delta, below in rows:
        if below or not args.below_only:
            print(f"| {name} | {va:.3f} | {vb:.3f} | {delta:+.3f} | {'below' if below else ''} |")
    if only:
        print("\nIn one report only: " + ", ".join(only))
    print(f"\n{sum(r[4] for r in rows)} of {sum(1 for r in rows if not r[0].startswith(('retrieval', 'mae', 'rerank')))} "
          f"gated figures more than {args.tolerance} below A")
    return 0


if __name__ == "__main__":
    sys.exit(main())
