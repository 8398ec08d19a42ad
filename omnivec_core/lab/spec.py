"""What a paper table is made of: rows (variants of a base config), the metric that decides it, the paper's
stated trend as claims about the rows' order, and the metrics read from an `evaluate` report.

A claim compares two rows on one metric: ">" and "<" are strict, "~" holds when they are within `tol` of each
other, ">~" when the left is not below the right by more than `tol` (and "<~" the mirror). A row agrees with
the paper when every claim that names it holds."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from ..config import ExperimentConfig, preset
from ..modalities import CAPTIONS

OPS = {">": ">", "<": "<", "~": "≈", ">~": "≳", "<~": "≲"}


def unchanged(config: ExperimentConfig) -> None:
    """A row that runs the base config as it is."""


@dataclass(frozen=True)
class Row:
    name: str                                                  # shown, and (slugged) the result file's name
    change: Callable[[ExperimentConfig], None] = unchanged     # how the row differs from the table's base config
    setting: str = ""                                          # the difference in words
    paper: str = ""                                            # the paper's figure or direction for this row
    run: Callable[[Any], dict] | None = None                   # a row measured without train + evaluate: (context)
                                                               # -> {"metrics": {...}, ...}

    @property
    def slug(self) -> str:
        return slug(self.name)


@dataclass(frozen=True)
class Claim:
    left: str                      # a row name
    op: str                        # one of OPS
    right: str                     # a row name
    metric: str | None = None      # None: the part's deciding metric
    tol: float = 0.0               # for "~", ">~", "<~"

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"claim op must be one of {list(OPS)}, got {self.op!r}")

    def text(self, metric: str) -> str:
        tolerance = f" (within {self.tol:g})" if self.op in ("~", ">~", "<~") else ""
        return f"{self.left} {OPS[self.op]} {self.right} on {self.metric or metric}{tolerance}"

    def holds(self, a: float | None, b: float | None) -> bool | None:
        """Whether the claim holds for the left row's value `a` and the right row's `b` (None: a value is missing)."""
        if a is None or b is None:
            return None
        return {">": a > b, "<": a < b, "~": abs(a - b) <= self.tol,
                ">~": a >= b - self.tol, "<~": a <= b + self.tol}[self.op]


@dataclass(frozen=True)
class Part:
    """One comparison inside a table: its rows, the metric that decides it and the paper's trend."""
    title: str
    metric: str                                     # the deciding metric (a key of each row's metrics)
    rows: tuple[Row, ...]
    claims: tuple[Claim, ...]
    trend: str                                      # the paper's finding in words (no number we are not sure of)
    reference: str                                  # where in the paper
    columns: tuple[str, ...] = ()                   # more metrics shown beside the deciding one
    higher_is_better: bool = True
    evaluate: bool = True                           # run omnivec_core.evaluate on every row's model
    extra: Callable[[Any], dict] | None = None      # more metrics of a trained row: (context) -> {name: value}
    derive: Callable[[dict], None] | None = None    # adds metrics that compare rows: (results by row name) -> None
    one_model: bool = False                         # every row reads one trained model (rows differ in analysis)

    def __post_init__(self) -> None:
        names = [row.name for row in self.rows]
        if len(set(names)) != len(names) or len({slug(n) for n in names}) != len(names):
            raise ValueError(f"part {self.title!r}: row names must be distinct: {names}")
        for claim in self.claims:
            unknown = {claim.left, claim.right} - set(names)
            if unknown:
                raise ValueError(f"part {self.title!r}: claim names unknown rows {sorted(unknown)}")


@dataclass(frozen=True)
class Table:
    name: str                                       # the command line's TABLE
    title: str
    paper: str                                      # the seed paper, cited
    parts: tuple[Part, ...]
    base: Callable[[str], ExperimentConfig] = preset  # the base config at a scale ("tiny", "small")
    note: str = ""                                  # what to keep in mind reading it

    @property
    def rows(self) -> list[tuple[Part, Row]]:
        return [(part, row) for part in self.parts for row in part.rows]


def slug(name: str) -> str:
    """A row name as a file name: "def+corr" -> "def-corr", "90/95 %" -> "90-95"."""
    return re.sub(r"[^A-Za-z0-9=.]+", "-", name).strip("-").lower() or "row"


# ---- metrics read from an evaluate report -------------------------------------------------------------
def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def report_metrics(report: dict) -> dict[str, float]:
    """The figures the tables compare, from one `evaluate` report (a key is missing where the model lacks the
    modalities it needs): mean linear probe (all, and per modality), attribute precision@1 (mean, the
    vision-language pairs, single pairs), instance R@1, zero-shot accuracy, and two summaries:
    "downstream" (mean of the video probe, the audio probe and text->video P@1: MMV's and VATT's kinds of
    task) and "visual probe" (mean of the image and video probes)."""
    probe, precision, retrieval = report["linear_probe"], report["attribute_precision"], report["retrieval"]
    out = {"mean probe": mean(v for by in probe.values() for v in by.values())}
    out.update({f"{m} probe": mean(by.values()) for m, by in probe.items()})
    out["mean attribute P@1"] = mean(precision.values())
    for pair in (f"{CAPTIONS}->video", f"video->{CAPTIONS}", f"{CAPTIONS}->image", f"image->{CAPTIONS}"):
        if pair in precision:
            out[f"{pair} P@1"] = precision[pair]
    out["vision-language P@1"] = mean(v for pair, v in precision.items()
                                      if CAPTIONS in pair.split("->") and {"image", "video"} & set(pair.split("->")))
    out["mean instance R@1"] = mean(s["R@1"] for s in retrieval.values())
    if "video->audio" in retrieval:
        out["video->audio R@1"] = retrieval["video->audio"]["R@1"]
    out["zero-shot"] = mean(v for by in report.get("zero_shot", {}).values() for v in by.values())
    out["downstream"] = mean([out.get("video probe"), out.get("audio probe"), out.get(f"{CAPTIONS}->video P@1")])
    out["visual probe"] = mean([out.get("image probe"), out.get("video probe")])
    return {k: float(v) for k, v in out.items() if v is not None}


# ---- the paper's trend against ours ----------------------------------------------------------------------
def judge(part: Part, metrics: dict[str, dict[str, float]]) -> tuple[list[dict], dict[str, str]]:
    """Every claim of `part` checked on the rows' `metrics` (row name -> metric -> value), and each row's
    agreement over the claims naming it that could be checked: "yes" (all hold), "no" (none does),
    "partly (k/m)", "n/a" (none could: a value is missing) or "—" (no claim names it)."""
    checked = []
    for claim in part.claims:
        metric = claim.metric or part.metric
        a, b = metrics.get(claim.left, {}).get(metric), metrics.get(claim.right, {}).get(metric)
        checked.append({"claim": claim.text(part.metric), "left": claim.left, "right": claim.right,
                        "metric": metric, "values": [a, b], "holds": claim.holds(a, b)})
    agreement = {}
    for row in part.rows:
        named = [c["holds"] for c in checked if row.name in (c["left"], c["right"])]
        verdicts = [v for v in named if v is not None]  # a claim missing a value says nothing
        if not named:
            agreement[row.name] = "—"
        elif not verdicts:
            agreement[row.name] = "n/a"
        elif all(verdicts):
            agreement[row.name] = "yes"
        elif not any(verdicts):
            agreement[row.name] = "no"
        else:
            agreement[row.name] = f"partly ({sum(verdicts)}/{len(verdicts)})"
    return checked, agreement


def model_fields(**values) -> Callable[[ExperimentConfig], None]:
    """A row that sets model config fields."""
    def change(config: ExperimentConfig) -> None:
        for key, value in values.items():
            setattr(config.model, key, value)
    return change


def train_fields(**values) -> Callable[[ExperimentConfig], None]:
    """A row that sets train config fields."""
    def change(config: ExperimentConfig) -> None:
        for key, value in values.items():
            setattr(config.train, key, value)
    return change
