"""Varied looks (data/omnishapes/looks.py): deterministic per seed, every option drawn, labels kept, and one
frame for clouds whether the renderer drew them or a reader loaded a mesh file. Fast: about 15 s."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from omnivec_core.data.omnishapes import OmniShapes, SOLIDS
from omnivec_core.data.omnishapes.looks import BACKGROUNDS, OUTLINES, RESOLUTIONS, STYLES
from omnivec_core.data.omnishapes.world import sample_events

WORLD = OmniShapes()
N = 384


@pytest.fixture(scope="module")
def varied():
    return WORLD.render(N, seed=11, varied=1.0)


def looks_of(n: int, seed: int, share: float, look_seed: int = 0):
    return sample_events(seed, torch.arange(n), WORLD.config.frames, 1, share, look_seed).look


def test_same_seed_same_looks_and_pixels():
    a = WORLD.render(6, seed=3, start=40, varied=0.7, look_seed=2)
    b = WORLD.render(6, seed=3, start=40, varied=0.7, look_seed=2)
    for field in ("image", "video", "audio", "depth", "points", "imu"):
        assert torch.equal(a[field], b[field]), field


def test_a_look_does_not_depend_on_the_batch_it_is_drawn_in():
    whole = WORLD.render(8, seed=3, varied=1.0, modalities=("image", "points"))
    part = WORLD.render(3, seed=3, start=5, varied=1.0, modalities=("image", "points"))
    torch.testing.assert_close(whole["image"][5:], part["image"], atol=1e-5, rtol=0)
    torch.testing.assert_close(whole["points"][5:], part["points"], atol=1e-5, rtol=0)


def test_no_share_is_the_plain_world():
    plain, zero = WORLD.render(16, seed=4), WORLD.render(16, seed=4, varied=0.0, look_seed=9)
    assert not zero.params["varied"].any()
    for field in ("image", "video", "audio", "depth", "points", "imu"):
        assert torch.equal(plain[field], zero[field]), field


def test_share_sets_how_many_events_vary():
    share = looks_of(4000, 0, 0.3).varied.float().mean().item()
    assert abs(share - 0.3) < 0.03


def test_every_option_is_drawn():
    look = looks_of(2000, 5, 1.0)
    for values, options in ((look.background, BACKGROUNDS), (look.style, STYLES), (look.outline, OUTLINES)):
        assert sorted(values.unique().tolist()) == list(range(len(options)))
    assert sorted(look.resolution.unique().long().tolist()) == list(RESOLUTIONS)
    for field in ("blur_px", "quality", "pixel_noise"):
        values = getattr(look, field)
        assert (values == 0).any() and (values > 0).any(), field
    assert look.ground.any() and (~look.ground).any()
    turned = (look.tumble - torch.eye(3)).abs().amax((1, 2)) > 1e-3
    assert turned.any() and (~turned).any()
    assert torch.isinf(look.snr_db).any() and torch.isfinite(look.snr_db).any()
    assert look.zoom.min() < 0.9 and look.zoom.max() > 1.5 and (look.gain_db.abs() > 1).any()
    assert (look.imu_gain != 1).all() and (look.surface_points < 1024).any()
    assert look.stretch.min() < 0.85 and look.stretch.max() > 1.15


def test_another_look_seed_redraws_looks_but_not_events():
    a, b = WORLD.render(8, seed=2, varied=1.0, look_seed=1), WORLD.render(8, seed=2, varied=1.0, look_seed=2)
    assert all(torch.equal(a.labels[k], b.labels[k]) for k in a.labels) and a["text"] == b["text"]
    assert not torch.allclose(a["image"], b["image"])


def test_looks_keep_every_label_and_caption(varied):
    plain = WORLD.render(N, seed=11, modalities=("text",))
    assert all(torch.equal(plain.labels[k], varied.labels[k]) for k in plain.labels)
    assert plain["text"] == varied["text"]


def test_pictures_stay_pictures(varied):
    assert varied["image"].min() >= 0 and varied["image"].max() <= 1 and torch.isfinite(varied["video"]).all()
    assert torch.equal(varied["image"], varied["video"][:, 0])
    look = sample_events(11, torch.arange(N), WORLD.config.frames, 1, 1.0).look
    white = look.background == BACKGROUNDS.index("white")
    corners = varied["image"][white][:, :, :4, :4].mean((1, 2, 3))
    assert white.any() and (corners > 0.8).all()
    dark = WORLD.render(N, seed=11, modalities=("image",))["image"][:, :, :4, :4].mean((1, 2, 3))
    assert (dark < 0.3).all()


def test_zoomed_objects_stay_in_frame(varied):
    covered = varied.segments["image"] > 0
    assert covered.flatten(1).any(1).float().mean() > 0.97  # a blurred, tiny stroke may still vanish
    edge = torch.cat([covered[:, :1], covered[:, -1:], covered[:, :, :1].transpose(1, 2),
                      covered[:, :, -1:].transpose(1, 2)], 1)
    assert edge.flatten(1).any(1).float().mean() < 0.02


def test_varied_clouds_lose_their_ground_sometimes(varied):
    grounded = (varied.segments["points"] == 0).any(1)
    assert grounded.any() and (~grounded).any()
    torch.testing.assert_close(varied["points"].norm(dim=-1).amax(1), torch.ones(N), atol=1e-5, rtol=0)


def _reach_quantiles(points: torch.Tensor) -> torch.Tensor:
    """Distance of each point from the centre at 10 quantiles: the same whatever the cloud's turn."""
    return torch.quantile(points.norm(dim=-1), torch.linspace(0.05, 0.95, 10))


@pytest.mark.parametrize("solid", ["sphere", "cube"])
def test_a_mesh_file_and_the_rendered_solid_share_one_frame(tmp_path, monkeypatch, solid):
    """The normalisation test: a solid read from a mesh file (other units, other place) and the same solid
    drawn by the world without its ground plane (and with its own proportions) land at the same centre and
    scale."""
    trimesh = pytest.importorskip("trimesh")
    from omnivec_core.data.omnishapes import looks
    from omnivec_core.data.readers import read_points

    monkeypatch.setattr(looks, "STRETCH", 0.0)

    mesh = trimesh.creation.icosphere(4, radius=37.0) if solid == "sphere" else trimesh.creation.box((5.0,) * 3)
    mesh.apply_translation((120.0, -40.0, 8.0))
    path = tmp_path / f"{solid}.ply"
    mesh.export(path)
    read = read_points(path).tensor
    batch = WORLD.render(400, seed=21, varied=1.0, modalities=("points",))
    rows = ((batch.labels["shape"] == SOLIDS.index(solid)) & ~(batch.segments["points"] == 0).any(1)).nonzero().flatten()
    assert len(rows) >= 3
    for drawn in batch["points"][rows[:3]]:
        assert drawn.mean(0).abs().max() < 1e-5 and read.mean(0).abs().max() < 1e-5
        assert abs(float(drawn.norm(dim=-1).max()) - float(read.norm(dim=-1).max())) < 1e-5
        diff = (_reach_quantiles(drawn) - _reach_quantiles(read)).abs().max()
        assert diff < 0.1, f"{solid}: distance quantiles differ by {float(diff):.3f}"


def test_invalid_share():
    with pytest.raises(ValueError, match="varied"):
        WORLD.render(2, seed=0, varied=1.5)
    with pytest.raises(ValueError, match="varied"):
        WORLD.render(2, seed=0, varied=True)
