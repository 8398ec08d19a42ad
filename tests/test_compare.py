"""Comparing two models: the metrics table, the alignment of two maps of the same points."""
from __future__ import annotations

import math

import numpy as np
import pytest

from omnivec_core.analysis.compare import (Side, align_onto, comparison_rows, format_rows, report_metrics,
                                           side_metrics)

pytestmark = pytest.mark.fast


def test_alignment_undoes_a_rotation_a_scale_and_a_shift():
    rng = np.random.default_rng(0)
    fixed = rng.normal(size=(40, 2))
    angle = 1.1
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    moving = 3.0 * fixed @ turn + np.array([5.0, -2.0])
    assert np.allclose(align_onto(moving, fixed), fixed, atol=1e-9)
    with pytest.raises(ValueError, match="same points"):
        align_onto(moving[:10], fixed)


def test_rows_cover_both_sides_and_give_the_difference():
    rows = comparison_rows({"x": 0.5, "y": 1.0}, {"y": 0.75, "z": 2.0})
    assert [r[0] for r in rows] == ["x", "y", "z"]
    assert rows[1][3] == -0.25 and math.isnan(rows[0][2]) and math.isnan(rows[2][1])
    table = format_rows(rows, "a", "b")
    assert "| y | 1.000 | 0.750 | -0.250 |" in table and "| x | 0.500 | — | — |" in table


def test_an_evaluation_report_gives_its_headlines():
    report = {"seed": 31337, "n": 10, "linear_probe": {"image": {"shape": 0.5, "colour": 1.0}},
              "attribute_precision": {"image->text": 0.25, "text->image": 0.75},
              "retrieval": {"image->text": {"R@1": 0.5}}, "zero_shot": {"image": {"shape": 0.4}},
              "reconstruction": {"image": {"0.75": {"psnr": 21.0, "baseline_psnr": 18.5}},
                                 "points": {"0.75": {"chamfer": 0.002, "baseline_chamfer": 0.006}}}}
    got = report_metrics(report)
    at = "eval.json (seed 31337, 10 events)"
    assert got[f"{at}: mean linear probe"] == 0.75 and got[f"{at}: mean attribute P@1"] == 0.5
    assert got[f"{at}: image PSNR gain at 75 % (dB)"] == 2.5 and got[f"{at}: mean zero-shot"] == 0.4
    assert got[f"{at}: points Chamfer at 75 % (baseline 0.0060)"] == 0.002


def test_a_damaged_evaluation_report_is_named(tmp_path):
    (tmp_path / "eval.json").write_text('{"linear_probe": [1, 2]}')
    side = Side(tmp_path, model=None, gallery=None)
    with pytest.raises(ValueError, match="eval.json is not a report"):
        side_metrics(side)
