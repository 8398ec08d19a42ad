"""The timeline of the shared space: aligned projections, snapshots written during training, the Embedding
map tab's slider over them and the Train tab's live view."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from omnivec_core.analysis import timeline as tl
from omnivec_core.config import StageConfig, preset
from omnivec_core.data.omnishapes import ATTRIBUTES
from omnivec_core.train.checkpoint import load_model
from omnivec_core.train.trainer import Trainer


def random_orthogonal(d: int, rng: np.random.Generator, reflect: bool = False) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    q = q * np.sign(np.diag(r))
    if reflect:
        q[:, 0] = -q[:, 0]
    return q


def clustered(rng, points: int = 90, d: int = 16) -> np.ndarray:
    """Points in three clusters of unequal spread: a PCA plane with a clear first and second axis."""
    centres = rng.normal(size=(3, d)) * np.linspace(3, 1, d)
    return centres[np.arange(points) % 3] + 0.3 * rng.normal(size=(points, d))


# ------------------------------------------------------------------ aligned projection

def test_a_point_set_that_does_not_change_stays_fixed():
    x = clustered(np.random.default_rng(0))
    aligned = tl.aligned_projection(np.stack([x] * 5))
    assert aligned.shape == (5, len(x), 2)
    assert np.allclose(aligned[0], tl.pca_2d(x))
    for frame in aligned[1:]:
        assert np.abs(frame - aligned[0]).max() < 1e-12, "identical snapshots, identical coordinates"


@pytest.mark.parametrize("reflect", [False, True])
def test_a_rotated_copy_is_aligned_back(reflect):
    rng = np.random.default_rng(1)
    x = clustered(rng)
    q = random_orthogonal(x.shape[1], rng, reflect)
    turned = x @ q  # the same space, rotated (or mirrored) in all its dimensions
    aligned = tl.aligned_projection(np.stack([x, turned, x]))
    assert np.abs(aligned[1] - aligned[0]).max() < 1e-9 and np.abs(aligned[2] - aligned[0]).max() < 1e-9
    angle = 0.7  # and in the plane: Procrustes recovers a 2-D rotation and undoes it
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    y = aligned[0] @ rotation
    assert np.allclose(y @ tl.procrustes_rotation(y, aligned[0]), aligned[0])


def test_a_slowly_changing_space_moves_smoothly_where_plain_pca_jumps():
    rng = np.random.default_rng(2)
    frames = [clustered(rng)]
    for _ in range(6):  # small steps, each also turned arbitrarily (as a layer's weights may be)
        q = random_orthogonal(frames[0].shape[1], rng, reflect=bool(rng.integers(2)))
        frames.append((frames[-1] + 0.02 * rng.normal(size=frames[0].shape)) @ q)
    aligned = tl.aligned_projection(np.stack(frames))
    spread = np.abs(aligned[0]).max()
    steps = [np.abs(b - a).max() for a, b in zip(aligned, aligned[1:])]
    assert max(steps) < 0.1 * spread, steps
    plain = [tl.pca_2d(f) for f in frames]
    assert max(np.abs(b - a).max() for a, b in zip(plain, plain[1:])) > 0.5 * spread, "signs flip without alignment"


def test_too_few_points_or_bad_values_are_refused():
    with pytest.raises(ValueError, match="at least 3 points"):
        tl.aligned_projection(np.zeros((2, 2, 4)))
    bad = np.ones((2, 5, 4))
    bad[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tl.aligned_projection(bad)


# ------------------------------------------------------------------ a timeline file

MODALITIES = ["image", "video", "text"]


def write_synthetic(directory, snapshots: int = 5, n: int = 30, joint: str | None = "coarse", seed: int = 0):
    """A timeline file in the recorder's format, of features that drift from snapshot to snapshot."""
    rng = np.random.default_rng(seed)
    spaces = ([joint] if joint else []) + [tl.VECTOR]
    meta = {"format": tl.FORMAT, "seed": tl.PROBE_SEED, "events": n, "modalities": MODALITIES, "spaces": spaces,
            "joint_space": joint, "every": 2, "captions": [f"caption of event {i}" for i in range(n)]}
    labels = {f"label/{a}": torch.from_numpy(rng.integers(0, len(names), n)) for a, names in ATTRIBUTES.items()}
    base = {f"{m}/{s}": rng.normal(size=(n, 8 if s != tl.VECTOR else 12)) for m in MODALITIES for s in spaces}
    frames = [{k: torch.from_numpy(v + 0.1 * i * rng.normal(size=v.shape)).half() for k, v in base.items()}
              for i in range(snapshots)]
    tl.write_timeline(tl.timeline_path(directory), meta, labels, list(range(0, 2 * snapshots, 2)), frames)
    return directory


def test_a_timeline_file_loads_back(tmp_path):
    write_synthetic(tmp_path)
    timeline = tl.load_timeline(tmp_path)
    assert timeline.steps.tolist() == [0, 2, 4, 6, 8] and timeline.modalities == MODALITIES
    assert timeline.spaces == ["coarse", "vector"] and timeline.joint_space == "coarse" and timeline.n == 30
    assert timeline.features["coarse"]["video"].shape == (5, 30, 8)
    assert timeline.stack("vector").shape == (5, 90, 12)
    with pytest.raises(tl.NoTimeline, match="has no timeline .*--timeline-every"):
        tl.load_timeline(tmp_path / "elsewhere")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / tl.FILENAME).write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a readable timeline"):
        tl.load_timeline(tmp_path / "broken")


# ------------------------------------------------------------------ training writes one

def tiny(steps: int):
    config = preset("tiny")
    config.model.depth = 1
    config.model.modalities = ("image", "audio", "text", "imu")  # the cheap ones: the test is about the bookkeeping
    config.train.batch_size = 8
    config.train.warmup_steps = 2
    config.train.eval_every = config.train.save_every = 10_000
    config.train.stages = [StageConfig("test", steps, {"mae": 1.0, "contrastive": 1.0})]
    return config


@pytest.mark.model
@pytest.mark.timeout(600)  # three short runs with their saves: about 20 s on two idle cores
def test_training_records_snapshots_every_n_steps_without_changing_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(tl, "PROBE_EVENTS", 12)  # a small probe keeps the test quick; the format is the same
    config = tiny(5)
    Trainer(config, tmp_path / "plain", "cpu").run()
    Trainer(config, tmp_path / "run", "cpu", timeline_every=2).run(stop_after=3)
    assert tl.load_timeline(tmp_path / "run").steps.tolist() == [0, 2, 3], "the start, every 2 steps, where it stopped"
    first = tl.load_timeline(tmp_path / "run")
    Trainer(config, tmp_path / "run", "cpu", resume=True, timeline_every=2).run()
    timeline = tl.load_timeline(tmp_path / "run")
    assert timeline.steps.tolist() == [0, 2, 3, 4, 5], "resumed: the earlier snapshots kept, then every 2 and the end"
    assert timeline.modalities == list(config.model.modalities) and timeline.n == 12
    assert timeline.spaces == ["coarse", "vector"] and timeline.seed == tl.PROBE_SEED
    for m in timeline.modalities:
        assert timeline.features["coarse"][m].shape == (5, 12, config.model.coarse_dim)
        assert timeline.features["vector"][m].shape == (5, 12, config.model.width)
        assert timeline.features["vector"][m].dtype == np.float16 and np.isfinite(timeline.features["vector"][m]).all()
        assert np.array_equal(timeline.features["coarse"][m][:3], first.features["coarse"][m])
        assert not np.array_equal(timeline.features["vector"][m][0], timeline.features["vector"][m][-1]), "it trained"
    assert set(timeline.labels) == set(ATTRIBUTES) and len(timeline.captions) == 12
    with open(tmp_path / "run" / tl.FILENAME, "rb") as handle:  # safetensors: a JSON header, never a pickle
        header = json.loads(handle.read(int.from_bytes(handle.read(8), "little")))
    assert json.loads(header["__metadata__"]["timeline"])["format"] == tl.FORMAT
    plain, _ = load_model(tmp_path / "plain")
    recorded, _ = load_model(tmp_path / "run")
    for (name, a), b in zip(plain.trainable_state_dict().items(), recorded.trainable_state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), f"{name}: recording a timeline changed the training"


@pytest.mark.model
def test_a_snapshot_leaves_the_model_as_it_was(tmp_path):
    from omnivec_core.model import OmniVec

    model = OmniVec(tiny(1).model).train()
    buffers = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}
    recorder = tl.TimelineRecorder(tmp_path, model, every=1, n=6)
    recorder.record(model, 0)
    recorder.record(model, 0)  # once per step
    assert model.training and recorder.steps == [0]
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in buffers.items()), "running statistics untouched"
    assert all(m.track_running_stats for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d))
    assert tl.load_timeline(tmp_path).features["coarse"]["imu"].shape == (1, 6, model.cfg.coarse_dim)
    assert tl.load_timeline(tmp_path).modalities == ["image", "audio", "text", "imu"]


def test_the_cli_flag(tmp_path):
    from omnivec_core.train.__main__ import main, parse_args

    assert parse_args([]).timeline_every == 0, "off by default"
    assert parse_args(["--timeline-every", "7"]).timeline_every == 7
    assert main(["--timeline-every", "-1", "--out", str(tmp_path)]) == 2


# ------------------------------------------------------------------ the Embedding map tab's timeline

def points_of(figure) -> dict[str, np.ndarray]:
    return {t.name: np.stack([np.asarray(t.x), np.asarray(t.y)], 1) for t in figure.data if t.mode == "markers"}


def test_the_timeline_map_draws_the_probe_points_of_a_snapshot(tmp_path):
    import gradio as gr

    from omnivec_app.map_tab import timeline_load, timeline_map
    from omnivec_app.state import AppState

    write_synthetic(tmp_path)
    state, cache = AppState(torch.device("cpu"), checkpoint=tmp_path), tl.TimelineCache()
    slider, figure, note = timeline_load(cache, state, "", "modality", "joint")  # the loaded model's directory
    assert (slider.maximum, slider.value) == (4, 4) and "step 8" in figure.layout.title.text
    aligned = cache.get(tmp_path)
    for index in (0, 3):
        figure, note = timeline_map(cache, state, str(tmp_path), index, "modality", "joint")
        drawn = points_of(figure)
        assert list(drawn) == MODALITIES and all(len(p) == 30 for p in drawn.values())
        assert np.allclose(np.concatenate(list(drawn.values())), aligned.coordinates[index])
        assert f"Step {2 * index}" in note and "snapshot" in note and "nearest neighbours" in note
        assert list(figure.layout.xaxis.range) == list(aligned.bounds[0]), "axes fixed over the run"
    figure, _ = timeline_map(cache, state, str(tmp_path), 2, "shape", "vector")
    drawn = points_of(figure)
    assert set(drawn) <= set(ATTRIBUTES["shape"]) and sum(len(p) for p in drawn.values()) == 90
    with pytest.raises(gr.Error, match="snapshot 5 is out of range: this timeline has 5 snapshots, numbered 0 to 4"):
        timeline_map(cache, state, str(tmp_path), 5, "modality", "joint")
    with pytest.raises(gr.Error, match="out of range"):
        timeline_map(cache, state, str(tmp_path), -1, "modality", "joint")
    with pytest.raises(gr.Error, match="has no timeline"):
        timeline_map(cache, state, str(tmp_path / "nothing"), 0, "modality", "joint")
    with pytest.raises(gr.Error, match="cannot colour the timeline by 'mood'"):
        timeline_map(cache, state, str(tmp_path), 0, "mood", "joint")
    write_synthetic(tmp_path / "disjoint", joint=None)
    with pytest.raises(gr.Error, match="disjoint"):
        timeline_map(cache, state, str(tmp_path / "disjoint"), 0, "modality", "joint")
    assert len(points_of(timeline_map(cache, state, str(tmp_path / "disjoint"), 0, "modality", "vector")[0])) == 3


def test_scrubbing_reuses_the_aligned_projections(tmp_path, monkeypatch):
    from omnivec_app.map_tab import timeline_load, timeline_map
    from omnivec_app.state import AppState

    write_synthetic(tmp_path, snapshots=12, n=200)  # the real probe's size: 600 points here
    state, cache = AppState(torch.device("cpu"), checkpoint=tmp_path), tl.TimelineCache()
    timeline_load(cache, state, str(tmp_path), "modality", "joint")
    aligned = cache.get(tmp_path)
    projections = []
    monkeypatch.setattr(tl, "aligned_projection", lambda stack: projections.append(1) or 1 / 0)  # must not run again
    timings = []
    for index in range(12):
        started = time.process_time()  # this process's CPU time: what it costs, whatever else the machine runs
        timeline_map(cache, state, str(tmp_path), index, "modality", "joint")
        timings.append(time.process_time() - started)
    assert cache.loads == 1 and projections == [] and cache.get(tmp_path) is aligned
    assert np.median(timings) < 0.3, f"a scrub step took {np.median(timings):.3f} s of CPU"  # measured: about 0.02 s
    time.sleep(0.01)
    write_synthetic(tmp_path, snapshots=13, n=200)  # training added a snapshot: the file is read again
    monkeypatch.undo()
    assert len(cache.get(tmp_path).timeline) == 13 and cache.loads == 2


# ------------------------------------------------------------------ the Train tab

def test_the_train_tab_records_a_timeline_and_shows_it_filling(tmp_path, monkeypatch):
    from omnivec_app import train_tab, training

    assert training.timeline_every(660) == 33 and training.timeline_every(20) == 1
    started = []

    class FakeProcess:
        def __init__(self, command, **kwargs):
            started.append(command)

        def poll(self):
            return None

    monkeypatch.setattr(training.subprocess, "Popen", FakeProcess)
    manager = training.TrainingManager(tmp_path)
    cache = tl.TimelineCache()
    assert train_tab.timeline_view(manager, cache) == (None, "")
    run = manager.start(tiny(660), "cpu")
    command = started[0]
    assert command[command.index("--timeline-every") + 1] == "33", "at least 10 snapshots for a classroom run"
    assert train_tab.timeline_view(manager, cache) == (None, ""), "before the first snapshot"
    write_synthetic(run.out, snapshots=3)
    figure, note = train_tab.timeline_view(manager, cache)
    assert "3 snapshots" in note and "Embedding map" in note and str(run.out) in note
    assert sum(len(t.x) for t in figure.data) == 90 and "step 4" in figure.layout.title.text
    from omnivec_app.map_tab import timeline_dirs
    from omnivec_app.state import AppState
    assert timeline_dirs(AppState(torch.device("cpu"), checkpoint=tmp_path / "model"), manager) == [
        str(tmp_path / "model"), str(run.out)]
