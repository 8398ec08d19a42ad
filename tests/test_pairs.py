"""Every modality pair: retrieval and attribute precision, zero-shot labels from class prompts, and the
task heads' predictions for one sample."""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from omnivec_core.analysis.predictions import predict
from omnivec_core.config import preset
from omnivec_core.data.omnishapes import ATTRIBUTES, OmniShapes, class_prompts, parse_caption
from omnivec_core.evaluation import pairs
from omnivec_core.evaluation.held_out import evaluate, format_report
from omnivec_core.modalities import REGISTRY
from omnivec_core.model import OmniVec

from test_bundled import BUNDLED, UNSEEN_SEED


def one_hot(ids: torch.Tensor, classes: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(ids, classes).float()


def test_class_prompts_name_their_class_and_nothing_else():
    for attribute, classes in ATTRIBUTES.items():
        prompts = class_prompts(attribute)
        assert list(prompts) == list(classes)
        for name, texts in prompts.items():
            assert texts and all(parse_caption(t) == {attribute: name} for t in texts), texts
    with pytest.raises(ValueError, match="no prompts"):
        class_prompts("weight")


def test_zero_shot_gives_the_expected_labels_when_spaces_are_aligned_by_construction(monkeypatch):
    """Images embedded as the one-hot of their shape, class prompts as the one-hot of their class:
    zero-shot must read every shape right, and a shuffled space must fall to chance."""
    labels = {"shape": torch.arange(64) % 8}
    model = SimpleNamespace(cfg=SimpleNamespace(modalities=("image", "text")),
                            embedding=SimpleNamespace(pair_space=lambda a, b: "coarse"))
    monkeypatch.setattr(pairs, "zero_shot_attributes", lambda model, m: ["shape"] if m == "image" else [])
    monkeypatch.setattr(pairs, "prompt_embeddings", lambda model, attribute, space: (list(ATTRIBUTES[attribute]),
                                                                                     torch.eye(8)))
    aligned = {"image": {"coarse": one_hot(labels["shape"], 8)}}
    assert pairs.zero_shot_scores(model, labels, aligned) == {"image": {"shape": 1.0}}
    shuffled = {"image": {"coarse": one_hot(labels["shape"][torch.randperm(64)], 8)}}
    assert pairs.zero_shot_scores(model, labels, shuffled)["image"]["shape"] < 0.5
    assert pairs.zero_shot_labels(model, "image", {"coarse": torch.eye(8)[3]})["shape"] == ("ring", 1.0)


def test_attribute_precision_compares_only_what_both_modalities_say():
    """A depth map cannot see colour: text->depth is right when shape and size agree, whatever colour
    the caption named; a caption that names a wrong shape is wrong."""
    labels = {"shape": torch.tensor([0, 1]), "colour": torch.tensor([0, 0]), "motion": torch.tensor([0, 0]),
              "size": torch.tensor([0, 1]), "speed": torch.tensor([0, 0])}
    captions = ["a small blue circle moving left", "a square spinning"]
    named = pairs.named_attributes("text", labels, captions)
    assert named[0] == {"shape": "circle", "colour": "blue", "motion": "left", "size": "small"}
    assert pairs.named_attributes("depth", labels, captions)[1] == {"shape": "square", "size": "large"}
    model = SimpleNamespace(cfg=SimpleNamespace(modalities=("text", "depth")),
                            embedding=SimpleNamespace(pair_space=lambda a, b: "coarse"))
    right = {"text": {"coarse": torch.eye(2)}, "depth": {"coarse": torch.eye(2)}}
    instance, attributes = pairs.pair_scores(model, labels, captions, right)
    assert attributes == {"text->depth": 1.0, "depth->text": 1.0} and instance["text->depth"]["R@1"] == 1.0
    crossed = {"text": {"coarse": torch.eye(2)}, "depth": {"coarse": torch.eye(2).flip(0)}}
    assert pairs.pair_scores(model, labels, captions, crossed)[1]["text->depth"] == 0.0


def test_pair_matrix_lays_scores_out_by_modality():
    matrix = pairs.pair_matrix({"a->b": {"R@1": 0.5}, "b->a": {"R@1": 0.25}}, ["a", "b"], "R@1")
    assert matrix[0, 1] == 0.5 and matrix[1, 0] == 0.25 and matrix.diagonal().isnan().all()


@pytest.mark.model
def test_evaluate_reports_every_pair_in_range():
    torch.manual_seed(0)
    config = preset("tiny")
    model = OmniVec(config.model).eval()
    report = evaluate(model, config, seed=5, n=40, device="cpu")
    modalities = config.model.modalities
    expected = {f"{a}->{b}" for a, b in itertools.permutations(modalities, 2)}
    assert set(report["retrieval"]) == expected  # the FAC design pairs every two modalities
    assert set(report["attribute_precision"]) == {p for p in expected if pairs.shares_attributes(*p.split("->"))}
    assert all(0 <= s["R@1"] <= s["R@5"] <= s["R@10"] <= 1 and 1 <= s["median_rank"] <= 40
               for s in report["retrieval"].values())
    assert all(0 <= v <= 1 for v in report["attribute_precision"].values())
    assert set(report["zero_shot"]) == {m for m in modalities if not REGISTRY[m].language}
    assert all(set(scores) == set(REGISTRY[m].observes) and all(0 <= v <= 1 for v in scores.values())
               for m, scores in report["zero_shot"].items())
    text = format_report(report)
    assert "Instance retrieval R@1" in text and "Zero-shot accuracy" in text and "imu" in text


@pytest.mark.model
def test_predictions_cover_observed_attributes_and_dense_heads():
    torch.manual_seed(0)
    model = OmniVec(preset("tiny").model).eval()
    batch = OmniShapes().render(1, seed=3)
    for m in model.cfg.modalities:
        p = predict(model, m, REGISTRY[m].batch_input(batch))
        assert set(p.attributes) == set(REGISTRY[m].observes)
        assert all(abs(sum(probs.values()) - 1) < 1e-4 for probs in p.attributes.values())
        assert (p.segmentation is not None) == REGISTRY[m].dense
        if p.segmentation is not None:
            expected = REGISTRY[m].dense_target(batch)[0].shape
            assert tuple(p.segmentation.shape) == tuple(expected) and int(p.segmentation.max()) <= 8
        assert set(p.zero_shot) == (set() if REGISTRY[m].language else set(REGISTRY[m].observes))


@pytest.mark.model
def test_bundled_model_beats_chance_on_every_pair():
    from omnivec_core.analysis.embeddings import embed_batch
    from omnivec_core.train.checkpoint import load_model

    model, _ = load_model(BUNDLED)
    batch = OmniShapes().render(200, seed=UNSEEN_SEED)
    embedded = embed_batch(model, batch)
    captions = [row[0] for row in batch["text"]]
    instance, attributes = pairs.pair_scores(model, batch.labels, captions, embedded)
    shuffled = {m: {s: v[torch.randperm(len(v))] for s, v in spaces.items()} for m, spaces in embedded.items()}
    _, chance = pairs.pair_scores(model, batch.labels, captions, shuffled)
    for pair, r in instance.items():  # a still image and a motion trace share nothing to find an instance by
        if pairs.shares_attributes(*pair.split("->")):
            assert r["R@1"] > 5 / 200, f"{pair} instance R@1 {r['R@1']:.3f} is at chance"
    for pair, value in attributes.items():
        assert value > chance[pair] + 0.25, f"{pair} attribute P@1 {value:.3f} against {chance[pair]:.3f} by chance"


ROOT = Path(__file__).resolve().parents[1]
PAIR_GAINS = [sys.executable, "-m", "bench.pair_gains"]  # run from ROOT


def _report(seed: int, r_at_1: float, p_at_1: float | None) -> dict:
    scores = {"image->depth": {"R@1": r_at_1}, "image->imu": {"R@1": 0.0}}
    return {"seed": seed, "n": 1000, "retrieval": scores,
            "attribute_precision": {"image->depth": p_at_1, "image->imu": None}}


def test_pair_gains_prints_each_pairs_difference_and_refuses_reports_of_other_events(tmp_path):
    a, b, other = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "other.json"
    a.write_text(json.dumps(_report(31337, 0.5, 0.8)))
    b.write_text(json.dumps(_report(31337, 0.75, 0.95)))
    other.write_text(json.dumps(_report(424242, 0.75, 0.95)))
    run = subprocess.run([*PAIR_GAINS, str(a), str(b)], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "| image->depth | 0.500 | 0.750 | +0.250 | 0.800 | 0.950 | +0.150 |" in run.stdout
    assert "| image->imu | 0.000 | 0.000 | +0.000 | - | - | - |" in run.stdout
    assert "of 1 sharing an attribute: A 1, B 0" in run.stdout
    refused = subprocess.run([*PAIR_GAINS, str(a), str(other)], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode == 2 and "different events" in refused.stderr
    unknown = subprocess.run([*PAIR_GAINS, str(a), str(b), "--pairs", "image->dpth"],
                             capture_output=True, text=True, cwd=ROOT)
    assert unknown.returncode == 2 and "'image->dpth'" in unknown.stderr


def test_held_out_delta_flags_gated_figures_below_tolerance_and_lists_one_sided_ones(tmp_path):
    a, b = _report(31337, 0.5, 0.95), _report(31337, 0.2, 0.90)  # P@1 0.05 below: flagged; R@1 never gated
    a["zero_shot"] = {"points": {"shape": 1.0, "size": 1.0}}
    b["zero_shot"] = {"points": {"shape": 0.99}}
    paths = [tmp_path / "a.json", tmp_path / "b.json", tmp_path / "other.json"]
    for path, report in zip(paths, (a, b, {**b, "seed": 424242})):
        path.write_text(json.dumps(report))
    script = [sys.executable, "-m", "bench.held_out_delta"]
    run = subprocess.run([*script, str(paths[0]), str(paths[1])], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "| attribute_precision/image->depth | 0.950 | 0.900 | -0.050 | below |" in run.stdout
    assert "| retrieval R@1/image->depth | 0.500 | 0.200 | -0.300 |  |" in run.stdout
    assert "| zero_shot/points/shape | 1.000 | 0.990 | -0.010 |  |" in run.stdout
    assert "zero_shot/points/size (A only)" in run.stdout
    assert run.stdout.rstrip().endswith("1 of 2 gated figures more than 0.02 below A")
    refused = subprocess.run([*script, str(paths[0]), str(paths[2])], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode == 2 and "different events" in refused.stderr
