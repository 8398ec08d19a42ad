"""Divided space-time attention: who attends to whom, images skip the temporal part, and it trains."""
from __future__ import annotations

import pytest
import torch

from omnivec_core.config import StageConfig, preset
from omnivec_core.data.omnishapes import OmniShapes, OmniShapesConfig
from omnivec_core.model import OmniVec
from omnivec_core.model.spacetime import SpaceTime
from omnivec_core.objectives import stage_losses

pytestmark = pytest.mark.model


def divided_model() -> OmniVec:
    config = preset("tiny")
    config.model.attention = "divided"
    return OmniVec(config.model).eval()


def test_masks_follow_the_grid():
    layout = SpaceTime.of(torch.tensor([[0, 1, 2, 3, 5]]), (3, 2))  # time = pos // 2, space = pos % 2
    assert layout.time.tolist() == [[-1, 0, 0, 1, 1, 2]] and layout.space.tolist() == [[-1, 0, 1, 0, 1, 1]]
    temporal, spatial = layout.temporal(None)[0, 0], layout.spatial(None)[0, 0]
    assert temporal[0].tolist() == [True, False, False, False, False, False], "the meta token: itself only"
    assert temporal[2].tolist() == [False, False, True, False, True, True], "space 1 at every time step"
    assert spatial[0].all() and spatial[:, 0].all(), "the meta token meets every token spatially"
    assert spatial[3].tolist() == [True, False, False, True, True, False], "time step 1 and the meta token"
    padding = torch.tensor([[False, False, False, False, False, True]])
    assert not layout.spatial(padding)[0, 0, :, 5].any() and layout.temporal(padding)[0, 0, 5, 5]


def test_temporal_attention_runs_for_clips_and_never_for_images(monkeypatch):
    model = divided_model()
    calls = []
    for block in model.backbone.stacks["shared"]:
        block.attn_time.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    batch = OmniShapes(OmniShapesConfig()).render(2, seed=0)
    with torch.no_grad():
        model.encode("image", batch["image"])
        assert calls == [], "an image has one time step: no temporal attention is run"
        model.encode_many({"image": batch["image"], "depth": batch["depth"], "video": batch["video"]})
    assert calls == [2] * len(model.backbone.stacks["shared"]), "only the clips' rows go through it"
    recorded = model.encode("video", batch["video"], record=True)
    assert all(t is not None for t in recorded.temporal_attention)
    assert all(t is None for t in model.encode("image", batch["image"], record=True).temporal_attention)


def test_each_part_reads_only_what_its_mask_allows():
    """Change one token (time 2, position 0): through the temporal attention only the tokens at position 0
    see it; through the spatial attention only time step 2 and the meta token."""
    torch.manual_seed(0)
    block = divided_model().backbone.stacks["shared"][0]
    assert block.attn_time.proj.weight.abs().sum() == 0, "the temporal part starts as no change"
    torch.nn.init.normal_(block.attn_time.proj.weight, std=0.1)
    layout = SpaceTime.of(torch.arange(12)[None], (4, 3))                # 4 time steps of 3 positions
    x = torch.randn(1, 13, block.norm1.normalized_shape[0])
    changed = x.clone()
    changed[0, 1 + 2 * 3 + 0] += 1.0
    for attention, mask, sees in ((block.attn_time, layout.temporal(None), layout.space[0] == 0),
                                  (block.attn, layout.spatial(None), (layout.time[0] == 2) | (layout.time[0] < 0))):
        with torch.no_grad():
            before, after = (attention(v, allowed=mask)[0][0] for v in (x, changed))
        moved = (before - after).abs().amax(-1) > 1e-6
        assert moved.tolist() == sees.tolist()


def test_divided_model_trains_with_masking_and_droptoken():
    config = preset("tiny")
    config.model.attention = "divided"
    model = OmniVec(config.model)
    batch = OmniShapes(OmniShapesConfig()).render(4, seed=2)
    stage = StageConfig("s", 1, {"mae": 1.0, "contrastive": 1.0})
    loss, _ = stage_losses(model, batch, config.train, stage, 0)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(b.attn_time.proj.weight.grad is not None for b in model.backbone.stacks["shared"])


def test_the_temporal_map_is_a_distribution_over_time_steps():
    from omnivec_core.analysis.activations import temporal_attention

    model = divided_model()
    batch = OmniShapes(OmniShapesConfig()).render(1, seed=4)
    with torch.no_grad():
        recorded = model.encode("video", batch["video"], record=True)
    steps = recorded.stem.grid[0]
    for layer in range(model.cfg.depth):
        shown = temporal_attention(recorded, layer)
        assert shown.shape == (steps, steps) and torch.allclose(shown.sum(1), torch.ones(steps), atol=1e-5)
    with torch.no_grad():
        assert temporal_attention(model.encode("image", batch["image"], record=True), 0) is None
