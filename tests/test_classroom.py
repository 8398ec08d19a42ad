"""Serving a class and the two-minute lesson (issue 37): what every student's page shows alike is computed once
per model; the `lesson` preset builds, checks and trains end to end at a few steps."""
from __future__ import annotations

import json

import pytest
import torch

from omnivec_app.state import AppState
from omnivec_app.training import timeline_every
from omnivec_core.analysis.timeline import load_timeline
from omnivec_core.train.checkpoint import load_model
from omnivec_core.train.plans import build_config
from omnivec_core.train.trainer import Trainer


def test_once_computes_once_per_model_and_again_after_a_load(monkeypatch):
    state = AppState(torch.device("cpu"))
    state.model = object()
    calls = []
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731
    assert state.once(("pair matrix", 0, 50), compute) == 1
    assert state.once(("pair matrix", 0, 50), compute) == 1, "asked again: the first answer"
    assert state.once(("pair matrix", 0, 100), compute) == 2, "another gallery: its own answer"
    monkeypatch.setattr("omnivec_app.state.load_model", lambda path, device: (object(), None))
    state.load("somewhere")
    assert state.once(("pair matrix", 0, 50), compute) == 3, "a new model computes anew"


@pytest.mark.model
def test_the_lesson_preset_trains_its_stages_and_records_a_timeline(tmp_path):
    """The lesson at a few steps, as the Train tab starts it: both stages run on their modalities and the run
    keeps a timeline of about 20 snapshots' spacing (here: every step)."""
    config = build_config(preset_name="lesson", steps=6)
    assert [s.name for s in config.train.stages] == ["shapes", "align"]
    Trainer(config, tmp_path, "cpu", log_every=1, timeline_every=timeline_every(20)).run()
    model, saved = load_model(tmp_path, torch.device("cpu"))
    assert saved.preset == "lesson" and list(model.cfg.modalities) == ["image", "video", "audio", "text"]
    stages = {json.loads(line).get("stage") for line in (tmp_path / "metrics.jsonl").read_text().splitlines()}
    assert {"shapes", "align"} <= stages
    timeline = load_timeline(tmp_path)
    assert list(timeline.steps) == [0, 1, 2, 3, 4, 5, 6] and timeline.modalities == ["image", "video", "audio", "text"]


def test_our_own_wavs_are_served_without_a_probe(tmp_path, monkeypatch):
    """A 16-bit PCM WAV (what the app writes) goes to the page as it is; anything else still goes through
    Gradio's probe and conversion."""
    import gradio.processing_utils as gradio_media

    from omnivec_app import media
    from omnivec_app.components import StillAudio, is_pcm16_wav

    ours = media.write_wav(torch.zeros(1600), 16000, tmp_path / "ours.wav")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    assert is_pcm16_wav(ours) and not is_pcm16_wav(broken) and not is_pcm16_wav(tmp_path / "missing.wav")
    probed = []
    monkeypatch.setattr(gradio_media, "audio_is_playable", lambda path: probed.append(path) or True)
    player = StillAudio()
    assert player.postprocess(ours).path == str(ours) and probed == []
    player.postprocess(str(broken))
    assert probed == [str(broken)], "a file that is not ours is probed as Gradio does"
