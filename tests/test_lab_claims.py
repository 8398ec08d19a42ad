"""The papers lab's spread and claim logic on synthetic rows (no training): a gap inside the seeds' spread is "within
noise", the orders a paper's figures show become claims, and quotes check their rows and columns."""
from __future__ import annotations

import math

import pytest

from omnivec_core.lab.claims import HOLDS, MISSING, NOISE, NOT_HELD, judge, orderings, row_stats, summarize, verdict
from omnivec_core.lab.spec import Claim, Part, Quote, Row


def stats_of(**rows: list[float]) -> dict[str, dict[str, dict]]:
    return {name: row_stats([{"m": v} for v in values]) for name, values in rows.items()}


def test_mean_and_spread_over_seeds():
    s = summarize([0.5, 0.6, 0.7])
    assert s["n"] == 3 and math.isclose(s["mean"], 0.6) and math.isclose(s["std"], 0.1)
    assert summarize([0.4]) == {"mean": 0.4, "std": 0.0, "n": 1}
    assert row_stats([{"a": 1.0, "b": 2.0}, {"a": 3.0}])["b"]["n"] == 1


@pytest.mark.parametrize("op, gap, noise, tol, expected", [
    (">", 0.05, 0.02, 0, HOLDS), (">", 0.01, 0.02, 0, NOISE), (">", -0.01, 0.02, 0, NOISE),
    (">", -0.05, 0.02, 0, NOT_HELD), ("<", -0.05, 0.02, 0, HOLDS), ("<", 0.05, 0.02, 0, NOT_HELD),
    ("~", 0.02, 0.0, 0.03, HOLDS), ("~", -0.04, 0.02, 0.03, NOISE), ("~", 0.06, 0.02, 0.03, NOT_HELD),
    (">~", -0.02, 0.0, 0.03, HOLDS), (">~", -0.04, 0.02, 0.03, NOISE), (">~", -0.06, 0.02, 0.03, NOT_HELD),
    ("<~", 0.06, 0.02, 0.03, NOT_HELD), (">", 0.001, 0.0, 0, HOLDS)])
def test_a_verdict_weighs_the_gap_against_the_spread(op, gap, noise, tol, expected):
    assert verdict(op, gap, noise, tol) == expected


def test_a_gap_inside_the_spread_is_within_noise():
    part = Part("p", "m", (Row("a"), Row("b"), Row("c")), (Claim("a", ">", "b"), Claim("a", ">", "c"),
                                                           Claim("c", ">", "b"), Claim("c", ">", "a", "cost")),
                "t", "r")
    # a beats b by 0.02 with seeds spread ~0.05 (noise); a beats c by 0.30 (holds); c is below b by 0.28 (not)
    stats = stats_of(a=[0.45, 0.55, 0.50], b=[0.40, 0.52, 0.52], c=[0.20, 0.21, 0.19])
    claims, agreement = judge(part, stats)
    assert [c["verdict"] for c in claims] == [NOISE, HOLDS, NOT_HELD, MISSING]
    first = claims[0]
    assert math.isclose(first["gap"], 0.5 - 0.48) and first["spread"] > first["gap"]
    assert math.isclose(first["spread"], math.sqrt(stats["a"]["m"]["std"] ** 2 + stats["b"]["m"]["std"] ** 2))
    assert agreement == {"a": "1/3 hold, 1 noise, 1 unmeasured", "b": "0/2 hold, 1 noise, 1 not",
                         "c": "1/3 hold, 1 not, 1 unmeasured"}
    # the same means from one seed each: no spread, the verdict is on the single values
    claims, _ = judge(part, stats_of(a=[0.5], b=[0.48], c=[0.2]))
    assert claims[0]["verdict"] == HOLDS and claims[0]["spread"] == 0.0


QUOTE = Quote("Table 1", ("X", "Y", "Z"), {"one": (10.0, 20.0, None), "two": (12.0, 16.0, 5.0),
                                             "three": (11.0, 21.0, 5.0)}, {"m": ("X", "Y"), "z": ("Z",)}, "words")


def test_every_order_the_papers_figures_show_becomes_a_claim():
    assert QUOTE.value("one", ("X", "Y")) == 15.0 and QUOTE.value("one", ("Z",)) is None
    claims = orderings(QUOTE, "m")  # one 15, two 14, three 16
    assert [(c.left, c.op, c.right, c.metric) for c in claims] == [
        ("one", ">", "two", "m"), ("three", ">", "one", "m"), ("three", ">", "two", "m")]
    [tie] = orderings(QUOTE, "z")  # "one" has no Z: only two and three, equal
    assert (tie.left, tie.op, tie.right) == ("two", "~", "three")
    part = Part("p", "m", tuple(Row(n) for n in ("one", "two", "three")), claims, "t", "r", quote=QUOTE,
                baseline="two")
    assert part.paper_value("three") == 16.0 and part.paper_value("one", "z") is None and part.reference_row == "two"


def test_quotes_and_parts_refuse_what_does_not_fit():
    with pytest.raises(ValueError, match="2 figures for 3 columns"):
        Quote("T", ("X", "Y", "Z"), {"one": (1.0, 2.0)})
    with pytest.raises(ValueError, match="unknown columns"):
        Quote("T", ("X",), {"one": (1.0,)}, {"m": ("W",)})
    with pytest.raises(ValueError, match="quote names unknown rows"):
        Part("p", "m", (Row("one"),), (), "t", "r", quote=QUOTE)
    with pytest.raises(ValueError, match="baseline"):
        Part("p", "m", (Row("one"),), (), "t", "r", baseline="two")
