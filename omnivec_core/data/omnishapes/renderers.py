"""Each modality's rendering call: registry name -> a function of the events, the world's config and what this
render call drew so far (modality -> what its renderer gave), giving the model input under INPUT and, where the
modality has them, its dense labels under SEGMENTS and the raw sound under WAVEFORM. `OmniShapes.render` runs them in the order
of RENDERERS, so an image is the first frame of the clip when both are asked for (the same pixels, the same
camera) and drawn alone otherwise."""
from __future__ import annotations

import torch

from ...modalities import AUDIO, CAPTIONS, DEPTH, IMAGE, IMU, POINTS, VIDEO
from ...modalities.audio import log_mel
from .camera import through_camera
from .captions import make_captions
from .imu import render_imu
from .points import sample_points
from .sound import recorded, synth_waveform
from .visual import render_depth, render_frames
from .world import Events

INPUT, SEGMENTS, WAVEFORM = "input", "segments", "waveform"  # what a renderer gives (EventBatch fields)
COVERAGE = "coverage"  # what the clip's renderer leaves for the image's dense labels


def video(ev: Events, cfg, drawn: dict) -> dict:
    frames, coverage = render_frames(ev, cfg.image_size, range(cfg.frames))
    return {INPUT: through_camera(frames, ev.look, ev.rng), COVERAGE: coverage}


def image(ev: Events, cfg, drawn: dict) -> dict:
    if VIDEO in drawn:
        picture, coverage = drawn[VIDEO][INPUT][:, 0].clone(), drawn[VIDEO][COVERAGE]
    else:
        frame, coverage = render_frames(ev, cfg.image_size, [0])
        picture = through_camera(frame, ev.look, ev.rng)[:, 0]
    return {INPUT: picture, SEGMENTS: torch.where(coverage[:, 0] > 0.5, ev.shape[:, None, None] + 1, 0)}


def audio(ev: Events, cfg, drawn: dict) -> dict:
    waveform = recorded(synth_waveform(ev, cfg.sample_rate, cfg.duration_s), ev)
    return {WAVEFORM: waveform, INPUT: log_mel(waveform, cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.mel_frames)}


def text(ev: Events, cfg, drawn: dict) -> dict:
    return {INPUT: make_captions(ev, cfg.captions_per_event)}


def depth(ev: Events, cfg, drawn: dict) -> dict:
    depth_map, mask = render_depth(ev, cfg.image_size)
    return {INPUT: depth_map, SEGMENTS: mask}


def points(ev: Events, cfg, drawn: dict) -> dict:
    cloud, labels = sample_points(ev, cfg.points, cfg.ground_fraction)
    return {INPUT: cloud, SEGMENTS: labels}


def imu(ev: Events, cfg, drawn: dict) -> dict:
    return {INPUT: render_imu(ev, cfg.imu_rate, cfg.duration_s)}


# in the order they run: the clip before the image that may reuse its first frame
RENDERERS = {VIDEO: video, IMAGE: image, AUDIO: audio, CAPTIONS: text, DEPTH: depth,
             POINTS: points, IMU: imu}
