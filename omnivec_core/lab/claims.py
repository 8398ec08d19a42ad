"""Claims against the spread of training seeds: every row of a table is trained with several seeds, each metric
summarised as mean and standard deviation, and a claim about two rows is judged by the gap of their means
against the spread of that gap.

The spread of a gap is sqrt(std_a^2 + std_b^2): how much the difference between one seed of each row varies. An
order claim ("a > b") *holds* where the gap exceeds the spread in the claimed direction, *does not hold* where it
exceeds it the other way, and is *within noise* otherwise. A closeness claim ("~" within `tol`) holds where the
gap is within `tol`, is within noise where it is within `tol` plus the spread, and does not hold beyond that
(">~" and "<~" are one-sided). With one seed there is no spread (0): every verdict is on single values."""
from __future__ import annotations

import itertools
import math

from .spec import Claim, Part, Quote

HOLDS, NOISE, NOT_HELD, MISSING = "holds", "within noise", "does not hold", "not measured"
VERDICTS = (HOLDS, NOISE, NOT_HELD, MISSING)


def summarize(values: list[float]) -> dict:
    """Mean, sample standard deviation (0 for one value) and count of one metric over the seeds."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "n": n}


def row_stats(per_seed: list[dict[str, float]]) -> dict[str, dict]:
    """metric -> {mean, std, n} over the seeds' metrics (a metric only some seeds have counts those)."""
    names = dict.fromkeys(name for metrics in per_seed for name in metrics)
    return {name: summarize([m[name] for m in per_seed if m.get(name) is not None]) for name in names}


def spread(a: dict, b: dict) -> float:
    return math.sqrt(a["std"] ** 2 + b["std"] ** 2)


def verdict(op: str, gap: float, noise: float, tol: float = 0.0) -> str:
    """A claim's verdict from the gap (left minus right), the spread of that gap and the claim's tolerance."""
    if op in ("<", "<~"):  # the mirror of ">" and ">~"
        op, gap = op.replace("<", ">"), -gap
    if op == ">":
        return HOLDS if gap > noise else NOT_HELD if gap < -noise else NOISE
    if op == "~":
        gap = abs(gap)
        return HOLDS if gap <= tol else NOISE if gap <= tol + noise else NOT_HELD
    return HOLDS if gap >= -tol else NOISE if gap >= -tol - noise else NOT_HELD  # ">~"


def check(claim: Claim, metric: str, stats: dict[str, dict[str, dict]]) -> dict:
    """One claim on the rows' `stats` (row -> metric -> {mean, std, n})."""
    a, b = stats.get(claim.left, {}).get(metric), stats.get(claim.right, {}).get(metric)
    out = {"claim": claim.text(metric), "left": claim.left, "right": claim.right, "metric": metric,
           "values": [a and a["mean"], b and b["mean"]], "gap": None, "spread": None, "verdict": MISSING}
    if a is None or b is None:
        return out
    gap, noise = a["mean"] - b["mean"], spread(a, b)
    return {**out, "gap": gap, "spread": noise, "verdict": verdict(claim.op, gap, noise, claim.tol)}


def judge(part: Part, stats: dict[str, dict[str, dict]]) -> tuple[list[dict], dict[str, str]]:
    """Every claim of `part` checked on the rows' stats, and for each row the verdicts of the claims naming it
    ("—" where none does)."""
    checked = [check(claim, claim.metric or part.metric, stats) for claim in part.claims]
    agreement = {}
    for row in part.rows:
        verdicts = [c["verdict"] for c in checked if row.name in (c["left"], c["right"])]
        agreement[row.name] = tally(verdicts, short=True) if verdicts else "—"
    return checked, agreement


def tally(verdicts: list[str], short: bool = False) -> str:
    """"2 of 3 hold, 1 within noise" (short: "2/3 hold, 1 noise")."""
    counts = {v: verdicts.count(v) for v in VERDICTS}
    head = f"{counts[HOLDS]}/{len(verdicts)} hold" if short else f"{counts[HOLDS]} of {len(verdicts)} claims hold"
    words = {NOISE: "noise" if short else "within noise", NOT_HELD: "not" if short else "do not hold",
             MISSING: "unmeasured" if short else "not measured"}
    return ", ".join([head, *(f"{counts[v]} {words[v]}" for v in (NOISE, NOT_HELD, MISSING) if counts[v])])


def orderings(quote: Quote, metric: str, columns: tuple[str, ...] | None = None) -> tuple[Claim, ...]:
    """Every order the paper's figures show between two rows, as claims on our `metric`: the paper's columns
    that `metric` mirrors in `quote` (or `columns`), averaged per row; a tie is a closeness claim ("~")."""
    values = {row: quote.value(row, columns or quote.mirrors[metric]) for row in quote.figures}
    known = [(row, v) for row, v in values.items() if v is not None]
    claims = []
    for (left, a), (right, b) in itertools.combinations(known, 2):
        if a == b:
            claims.append(Claim(left, "~", right, metric))
        else:
            claims.append(Claim(left, ">", right, metric) if a > b else Claim(right, ">", left, metric))
    return tuple(claims)
