"""What a paper table is made of: rows (variants of a base config), the metric that decides it, the paper's own
figures (or its words where it gives none), the orders it shows as claims about our rows, and the metrics read
from an `evaluate` report.

A claim compares two rows on one metric: ">" and "<" are strict, "~" says they are within `tol` of each other,
">~" that the left is not below the right by more than `tol` (and "<~" the mirror). `lab/claims.py` judges a
claim against the spread of the rows' training seeds."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..config import ExperimentConfig, preset
from ..modalities import CAPTIONS, IMAGE, VIDEO

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


@dataclass(frozen=True)
class Quote:
    """The paper's own figures for a comparison, beside ours, or its words where it gives none."""
    source: str                                    # which table of the paper, which setting and columns
    columns: tuple[str, ...] = ()                  # the paper's column names
    figures: dict[str, tuple] = field(default_factory=dict)  # our row name -> the paper's figure per column
                                                   # (None: the paper has none there)
    mirrors: dict[str, tuple[str, ...]] = field(default_factory=dict)  # our metric -> the paper columns it
                                                   # stands for (their mean is the paper's value of it)
    words: str = ""                                # the paper's words, quoted (its finding where it gives no figures)

    def __post_init__(self) -> None:
        for row, values in self.figures.items():
            if len(values) != len(self.columns):
                raise ValueError(f"quote {self.source!r}: row {row!r} has {len(values)} figures for "
                                 f"{len(self.columns)} columns")
        for metric, columns in self.mirrors.items():
            unknown = set(columns) - set(self.columns)
            if unknown:
                raise ValueError(f"quote {self.source!r}: {metric!r} mirrors unknown columns {sorted(unknown)}")

    def value(self, row: str, columns: tuple[str, ...]) -> float | None:
        """The mean of the row's figures in `columns`; None if the paper lacks the row or any of them."""
        figures = self.figures.get(row)
        if figures is None:
            return None
        values = [figures[self.columns.index(c)] for c in columns]
        return None if any(v is None for v in values) else sum(values) / len(values)


@dataclass(frozen=True)
class Part:
    """One comparison inside a table: its rows, the metric that decides it and the paper's trend."""
    title: str
    metric: str                                     # the deciding metric (a key of each row's metrics)
    rows: tuple[Row, ...]
    claims: tuple[Claim, ...]
    trend: str                                      # the paper's finding in words, as we read it
    reference: str                                  # where in the paper
    columns: tuple[str, ...] = ()                   # more metrics shown beside the deciding one
    higher_is_better: bool = True
    evaluate: bool = True                           # run omnivec_core.evaluate on every row's model
    extra: Callable[[Any], dict] | None = None      # more metrics of a trained row: (context) -> {name: value}
    derive: Callable[[dict], None] | None = None    # adds metrics that compare rows: (results by row name) -> None
    one_model: bool = False                         # every row reads one trained model (rows differ in analysis)
    quote: Quote | None = None                      # the paper's figures (or words) beside our rows
    baseline: str = ""                              # the row others are shown relative to (default: the first)

    def __post_init__(self) -> None:
        names = [row.name for row in self.rows]
        if len(set(names)) != len(names) or len({slug(n) for n in names}) != len(names):
            raise ValueError(f"part {self.title!r}: row names must be distinct: {names}")
        for claim in self.claims:
            unknown = {claim.left, claim.right} - set(names)
            if unknown:
                raise ValueError(f"part {self.title!r}: claim names unknown rows {sorted(unknown)}")
        if self.baseline and self.baseline not in names:
            raise ValueError(f"part {self.title!r}: baseline {self.baseline!r} is not one of its rows {names}")
        if self.quote is not None and set(self.quote.figures) - set(names):
            raise ValueError(f"part {self.title!r}: the quote names unknown rows "
                             f"{sorted(set(self.quote.figures) - set(names))}")

    @property
    def reference_row(self) -> str:
        return self.baseline or self.rows[0].name

    def paper_value(self, row: str, metric: str | None = None) -> float | None:
        """The paper's figure for `row` on `metric` (default: the deciding one): the mean of the columns it mirrors."""
        metric = metric or self.metric
        if self.quote is None or metric not in self.quote.mirrors:
            return None
        return self.quote.value(row, self.quote.mirrors[metric])


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
    task), "visual probe" (mean of the image and video probes), "video+audio probe" (VATT's linear probes) and
    "image tasks" / "video tasks" (OmniVL's: the medium's probe and its P@1 to and from captions)."""
    probe, precision, retrieval = report["linear_probe"], report["attribute_precision"], report["retrieval"]
    out = {"mean probe": mean(v for by in probe.values() for v in by.values())}
    out.update({f"{m} probe": mean(by.values()) for m, by in probe.items()})
    out["mean attribute P@1"] = mean(precision.values())
    for pair in (f"{CAPTIONS}->video", f"video->{CAPTIONS}", f"{CAPTIONS}->image", f"image->{CAPTIONS}"):
        if pair in precision:
            out[f"{pair} P@1"] = precision[pair]
    out["vision-language P@1"] = mean(v for pair, v in precision.items()
                                      if CAPTIONS in pair.split("->") and {IMAGE, VIDEO} & set(pair.split("->")))
    out["mean instance R@1"] = mean(s["R@1"] for s in retrieval.values())
    if "video->audio" in retrieval:
        out["video->audio R@1"] = retrieval["video->audio"]["R@1"]
    out["zero-shot"] = mean(v for by in report.get("zero_shot", {}).values() for v in by.values())
    out["downstream"] = mean([out.get("video probe"), out.get("audio probe"), out.get(f"{CAPTIONS}->video P@1")])
    out["visual probe"] = mean([out.get("image probe"), out.get("video probe")])
    out["video+audio probe"] = mean([out.get("video probe"), out.get("audio probe")])
    for medium in (IMAGE, VIDEO):  # OmniVL's image tasks and video tasks: the probe and both retrieval ways
        out[f"{medium} tasks"] = mean([out.get(f"{medium} probe"), out.get(f"{CAPTIONS}->{medium} P@1"),
                                       out.get(f"{medium}->{CAPTIONS} P@1")])
    return {k: float(v) for k, v in out.items() if v is not None}


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
