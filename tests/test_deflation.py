"""MMV's deflation of a video network for still images (omnivec_core/analysis/deflation.py)."""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from omnivec_core.analysis import deflation
from omnivec_core.config import default_stem_context, preset
from omnivec_core.constants import PATCH, TUBELET
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.model import OmniVec
from omnivec_core.model.stems import VisualStem
from omnivec_core.train.trainer import Trainer

pytestmark = pytest.mark.model  # builds and trains models

VIDEO_ONLY = ("video", "audio", "text")  # a network trained on video: no image input of its own


def video_network(**changes) -> OmniVec:
    torch.manual_seed(0)
    return OmniVec(dataclasses.replace(preset("tiny").model, modalities=VIDEO_ONLY, **changes)).eval()


def stills(n: int, seed: int, size: int = 64) -> torch.Tensor:
    """(n, 3, size, size) OmniShapes images; the stems take any size up to 64, and 32 is four times cheaper."""
    return F.adaptive_avg_pool2d(OmniShapes().render(n, seed=seed, modalities=("image",))["image"], size)


def test_the_tubelet_projection_is_a_3d_convolution_that_deflates_to_its_sum_over_time():
    cfg = dataclasses.replace(preset("tiny").model, conv_stem=False,
                              stem_context=dict.fromkeys(default_stem_context(), 0))
    stem, (dim, t, p) = VisualStem(cfg).eval(), (cfg.stem_dim, TUBELET, PATCH)
    torch.manual_seed(0)
    kernel = torch.randn(dim, 3, t, p, p)  # a Conv3d weight: (out, C, time, height, width)
    with torch.no_grad():
        stem.proj.weight.copy_(kernel.permute(0, 2, 3, 4, 1).flatten(1))  # (out, t*p*p*C), the tubelet's order
    video = torch.rand(2, 4, 3, 32, 32)
    with torch.no_grad():
        tokens = stem(video).tokens - stem.pos((2, 4, 4))                              # (B, 2*4*4, out)
        conv3d = F.conv3d(video.transpose(1, 2), kernel, stem.proj.bias, stride=(t, p, p))  # (B, out, 2, 4, 4)
        assert torch.allclose(tokens, conv3d.flatten(2).transpose(1, 2), atol=1e-4)

        summed, first = deflation.DeflatedStem(stem), deflation.DeflatedStem(stem, "first")
        assert torch.equal(summed.proj.weight, kernel.sum(2).permute(0, 2, 3, 1).flatten(1))  # (out, p*p*C)
        assert torch.equal(first.proj.weight, kernel[:, :, 0].permute(0, 2, 3, 1).flatten(1))
        image = video[:, 0]
        flat = summed(image[:, None]).tokens - summed.pos((1, 4, 4))                    # (B, 4*4, out)
        conv2d = F.conv2d(image, kernel.sum(2), stem.proj.bias, stride=p)               # (B, out, 4, 4)
        assert torch.allclose(flat, conv2d.flatten(2).transpose(1, 2), atol=1e-4)


@torch.no_grad()
def test_the_deflated_stem_on_an_image_is_the_video_stem_on_its_static_clip_but_for_time_positions():
    model = video_network()  # the conv stem: per-frame convolutions, then the tubelet projection
    stem, images = model.stems["visual"], stills(3, seed=5)
    clip = stem(deflation.static_clip(images)).tokens.unflatten(1, (4, 64))  # (B, steps, h*w, stem_dim)
    flat = deflation.deflate_stem(model)(images[:, None]).tokens             # (B, h*w, stem_dim)
    # tubelets neither overlap nor pad time with zeros: the only term that differs between time steps is
    # their position, so the difference at step s is exactly time position s less time position 0
    time_table = stem.pos.tables[0]
    for step in range(4):
        explained = (time_table[step] - time_table[0]).expand_as(flat)
        assert torch.allclose(clip[:, step] - flat, explained, atol=1e-5)
    assert (time_table[1:] - time_table[0]).abs().amax() > 0  # so the steps do differ, by their positions alone
    # this code's one-frame path repeats the frame to fill its tubelet: it already is the deflated stem
    assert torch.allclose(stem(images[:, None]).tokens, flat, atol=1e-5)
    naive = deflation.deflate_stem(model, "first")(images[:, None]).tokens  # the frames after the first as zeros
    assert (naive - clip[:, 0]).abs().amax() > 1e-2


@torch.no_grad()
def test_the_deflated_time_head_reads_the_one_step_in_every_slot():
    model, images = video_network(), stills(2, seed=6)
    summed = deflation.encode_deflated(deflation.deflate(model), images).time_profile.unflatten(1, (4, -1))
    naive = deflation.encode_deflated(deflation.deflate(model, "first"), images).time_profile.unflatten(1, (4, -1))
    assert torch.equal(summed, summed[:, :1].expand_as(summed))  # (B, steps, D): the static clip's profile
    assert torch.equal(naive[:, 1:], torch.zeros_like(naive[:, 1:])) and naive[:, 0].abs().amax() > 0


def test_the_correction_fit_lowers_the_l1_and_trains_nothing_else():
    model = video_network()
    network, held_out = deflation.deflate(model), stills(16, seed=7, size=32)
    before = deflation.correction_l1(model, network, held_out)
    history = deflation.fit_correction(model, network, stills(32, seed=8, size=32), steps=15, batch_size=16)
    after = deflation.correction_l1(model, network, held_out)
    assert history[-1] < 0.8 * history[0] and after < 0.8 * before, (history[0], history[-1], before, after)
    unfitted = deflation.deflate(model).state_dict()
    changed = [k for k, v in network.state_dict().items() if not torch.equal(v, unfitted[k])]
    assert sorted(changed) == ["stems.visual.scale", "stems.visual.shift"]
    assert isinstance(model.stems["visual"], VisualStem)  # the model itself keeps its video stem


def test_the_deflation_table_scores_every_way():
    table = deflation.deflation_table(video_network(), n_events=16, steps=1)
    assert list(table["ways"]) == [*deflation.WAYS, "video (clips)"]
    for way, scores in table["ways"].items():
        assert set(scores) >= {"to text P@1", "from text P@1", "shape probe"}
        assert all(0.0 <= value <= 1.0 for key, value in scores.items() if key != "L1"), way
    assert table["ways"]["i-inf"]["L1"] == 0.0 and table["ways"]["def+corr"]["L1"] > 0.0
    assert "def+corr" in deflation.format_table(table)


def test_deflation_refuses_what_it_cannot_deflate():
    with pytest.raises(ValueError, match="deflation needs a video network"):
        deflation.deflate_stem(OmniVec(dataclasses.replace(preset("tiny").model, modalities=("image", "text"))))
    with pytest.raises(ValueError, match="takes still images"):
        deflation.deflate_stem(video_network())(torch.rand(1, 2, 3, 64, 64))
    with pytest.raises(ValueError, match="taps must be one of"):
        deflation.deflate_stem(video_network(), "middle")


def test_the_tiny_plan_trains_a_network_on_video_without_images(tmp_path):
    config = preset("tiny")
    config.model.modalities, config.model.depth, config.train.batch_size = VIDEO_ONLY, 2, 4
    for stage in config.train.stages:
        stage.steps = 1  # its "shapes" stage names image and text: of those the network has text alone
    trainer = Trainer(config, tmp_path, "cpu")
    named = [trainer.train_step(step)[1] for step in range(len(config.train.stages))]
    assert set(named[0]) == {"mae/video", "mae/audio"} and set(named[1]) == {"cls/text"}
    assert {"nce/video-audio", "cls/video"} <= set(named[2])
    assert not [key for losses in named for key in losses if "image" in key]
    assert all(torch.isfinite(value) for losses in named for value in losses.values())
