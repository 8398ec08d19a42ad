"""Explained matches (analysis/attribution.py, omnivec_app/explain_view.py): hiding tokens is DropToken's
removal; the layouts put each token's value where the token lies; on the bundled model, hiding the 20 % most
attributed tokens lowers a matching pair's similarity more than hiding 20 % at random, for every modality;
/explain through gradio_client on one live server, good calls and bad inputs."""
from __future__ import annotations

import shutil
from pathlib import Path

import gradio as gr
import pytest
import torch
from gradio_client import Client, handle_file
from PIL import Image

from bench import media_factory as mf
from omnivec_app import explain_view, retrieval_tab
from omnivec_app.launch import build_state
from omnivec_app.state import OMNISHAPES
from omnivec_core.analysis.attribution import deletion_curves, embed, hide_random, hide_top
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.model.tokens import make_masking
from omnivec_core.modalities import CAPTIONS, REGISTRY
from omnivec_core.train.checkpoint import load_model

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "checkpoints" / "omnivec-default"
VALIDATION = 31337
PARTNER = {m: "image" if m == "video" else "video" for m in REGISTRY}  # each modality beside its clip (or frame)


@pytest.fixture(scope="module")
def bundled():
    model, _ = load_model(BUNDLED, "cpu")
    return model


@pytest.fixture(scope="module")
def events():
    return OmniShapes().render(24, seed=VALIDATION)


# ------------------------------------------------------------------ fast: hiding and layouts

def test_hide_top_and_random_hide_the_same_share_of_content_tokens():
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.3, 0.0], [5.0, 1.0, 2.0, 0.0, 0.0]])
    real = torch.tensor([[True] * 5, [True, True, True, False, False]])  # the second row: 3 words, 2 padding
    top = hide_top(scores, real, 0.4)
    assert top.tolist() == [[False, True, True, False, False], [True, False, False, False, False]]
    drawn = hide_random(real, 0.4, torch.Generator().manual_seed(0))
    assert drawn.sum(1).tolist() == [2, 1] and not (drawn & ~real).any(), "padding is never hidden"


def one_hot(index: int, count: int) -> torch.Tensor:
    scores = torch.zeros(count)
    scores[index] = 1.0
    return scores


@pytest.mark.parametrize("modality", list(REGISTRY))
def test_layouts_put_a_token_where_it_lies(modality):
    spec = REGISTRY[modality]
    steps, per_step = spec.grid
    count = steps * per_step
    x = spec.batch_input(OmniShapes().render(1, seed=VALIDATION, modalities=(modality,)))[0]
    extras = {"centres": x[torch.arange(per_step) * (len(x) // per_step)]} if spec.view_kind == "cloud" else {}
    shapes = {"image": ((8, 8), (64, 64)), "depth": ((8, 8), (64, 64)), "video": ((4, 8, 8), (8, 64, 64)),
              "audio": ((8, 8), (64, 64)), "points": ((64,), (1024,)), "imu": ((10,), (100,)), CAPTIONS: ((24,), (24,))}
    index = count // 2 + 1
    laid, heat = spec.token_layout(one_hot(index, count), spec.grid), spec.view_heat(one_hot(index, count), spec.grid,
                                                                                     x, extras)
    assert (tuple(laid.shape), tuple(heat.shape)) == shapes[modality]
    assert laid.sum() == 1 and heat.max() == 1 and heat.min() == 0
    assert spec.token_name(index, spec.grid)
    if spec.layout == "spatial":  # image, depth, video: row 4, column 2 of an 8 x 8 patch grid
        step, row, column = index // 64, (index % 64) // 8, index % 8
        frames = slice(2 * step, 2 * step + 2) if heat.dim() == 3 else slice(None)
        assert heat[frames][..., row * 8:row * 8 + 8, column * 8:column * 8 + 8].min() == 1
        assert heat[frames].sum() == heat.sum() == (64 * (2 if heat.dim() == 3 else 1))
        assert f"row {row + 1}, column {column + 1}" in spec.token_name(index, spec.grid)
    if spec.layout == "spectrogram":  # time step 4, band 2 (from the lowest); the view draws low pitch at the bottom
        step, band = divmod(index, per_step)
        assert heat[64 - 8 * (band + 1):64 - 8 * band, step * 8:step * 8 + 8].min() == 1 and heat.sum() == 64
    if modality == "imu":
        assert heat[index * 10:index * 10 + 10].min() == 1 and heat.sum() == 10


# ------------------------------------------------------------------ model: the bundled model

@pytest.mark.model
@pytest.mark.parametrize("modality", ["image", CAPTIONS])
def test_hiding_is_droptoken_removal(bundled, events, modality):
    x = REGISTRY[modality].batch_input(events)[:4]
    space = bundled.embedding.pair_space(modality, "video")
    with torch.no_grad():
        dropped = bundled.embed(bundled.encode(modality, x, 0.5, generator=torch.Generator().manual_seed(3)))[space]
        grid = bundled.run_stem(modality, x).grid
        kept = make_masking(4, grid, 0.5, "random", None, torch.Generator().manual_seed(3)).ids_keep  # the same draw
        hidden = torch.ones(4, grid[0] * grid[1], dtype=torch.bool).scatter(1, kept, False)
        ours, _ = embed(bundled, modality, x, space, hidden)
    assert torch.allclose(ours, dropped, atol=1e-5)


@pytest.mark.model
@pytest.mark.parametrize("modality", list(REGISTRY))
def test_attribution_beats_random_deletion(bundled, events, modality):
    partner = PARTNER[modality]
    x, other = REGISTRY[modality].batch_input(events), REGISTRY[partner].batch_input(events)
    curve = deletion_curves(bundled, modality, x, partner, other, fractions=(0.2,), draws=3,
                            generator=torch.Generator().manual_seed(0))[modality]
    assert curve["attributed"][0] > curve["random"][0], curve
