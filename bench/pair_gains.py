"""Pair by pair, what one model gains over another: instance R@1 and attribute P@1 of every ordered
pair of modalities, from two `evaluate --json` reports of the same seed and size.

    python -m omnivec_core.evaluate --checkpoint A --seed 31337 --n 1000 --json > a.json   # and b.json
    python -m bench.pair_gains a.json b.json [--pairs image->depth depth->image ...]

Prints a markdown table (A, B, B - A for both measures) and, below it, the mean over the pairs shown
and how many pairs with a shared attribute stay under an attribute P@1 of 0.90.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

P_AT_1_TARGET = 0.90  # issue 22's bar for every pair that shares an attribute


def load_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text())
        return {"seed": report["seed"], "n": report["n"], "retrieval": report["retrieval"],
                "attribute_precision": report["attribute_precision"]}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a report of evaluate --json ({error!r})") from None


def check_same_events(a: dict, b: dict) -> None:
    """Two reports compare only when they score the same events."""
    if (a["seed"], a["n"]) != (b["seed"], b["n"]):
        raise ValueError(f"the reports score different events: seed {a['seed']} n {a['n']} against "
                         f"seed {b['seed']} n {b['n']}")


def pair_rows(a: dict, b: dict, pairs: list[str]) -> list[tuple]:
    """(pair, R@1 A, R@1 B, P@1 A, P@1 B) for the pairs both reports score; P@1 None where no attribute
    is shared."""
    rows = []
    for pair in pairs:
        if pair not in a["retrieval"] or pair not in b["retrieval"]:
            raise ValueError(f"pair {pair!r} is not in both reports (pairs look like 'image->depth')")
        rows.append((pair, a["retrieval"][pair]["R@1"], b["retrieval"][pair]["R@1"],
                     a["attribute_precision"].get(pair), b["attribute_precision"].get(pair)))
    return rows


def format_table(rows: list[tuple], name_a: str, name_b: str) -> str:
    def p_at_1(x, y):
        return "- | - | -" if x is None or y is None else f"{x:.3f} | {y:.3f} | {y - x:+.3f}"

    lines = [f"A: {name_a}, B: {name_b}\n",
             "| pair | R@1 A | R@1 B | B − A | P@1 A | P@1 B | B − A |", "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {pair} | {ra:.3f} | {rb:.3f} | {rb - ra:+.3f} | {p_at_1(pa, pb)} |" for pair, ra, rb, pa, pb in rows]
    mean_a, mean_b = (sum(r[i] for r in rows) / len(rows) for i in (1, 2))
    under_a, under_b = (sum(1 for r in rows if r[i] is not None and r[i] < P_AT_1_TARGET) for i in (3, 4))
    shared = sum(1 for r in rows if r[3] is not None)
    lines += ["", f"mean R@1 over these {len(rows)} pairs: A {mean_a:.3f}, B {mean_b:.3f} ({mean_b - mean_a:+.3f})",
              f"pairs under P@1 {P_AT_1_TARGET:.2f} of {shared} sharing an attribute: A {under_a}, B {under_b}"]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="report A (evaluate --json)")
    parser.add_argument("b", type=Path, help="report B, same seed and number of events")
    parser.add_argument("--pairs", nargs="+", help="ordered pairs to show (default: every pair A scores)")
    args = parser.parse_args(argv)
    try:
        a, b = load_report(args.a), load_report(args.b)
        check_same_events(a, b)
        rows = pair_rows(a, b, args.pairs or list(a["retrieval"]))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"seed {a['seed']}, {a['n']} events\n")
    print(format_table(rows, str(args.a), str(args.b)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
