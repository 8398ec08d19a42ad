"""Explained matches (analysis/attribution.py, omnivec_app/explain_view.py): hiding tokens is DropToken's
removal; the layouts put each token's value where the token lies; on the bundled model, hiding the 20 % most
attributed tokens lowers a matching pair's similarity more than hiding 20 % at random, for every modality;
/explain through gradio_client on one live server, good calls and bad inputs."""
from __future__ import annotations

import shutil
import socket
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
PARTNER = {m: "video" if m == CAPTIONS else CAPTIONS for m in REGISTRY}  # each modality beside its caption, as a
# sentence query meets it (the caption beside its clip)


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
                            generator=torch.Generator().manual_seed(0), hide=(modality,))[modality]
    assert curve["attributed"][0] > curve["random"][0], curve


# ------------------------------------------------------------------ app: /explain on one live server

GALLERY = 300  # the bundled model's cached gallery size


def test_hits_are_read_from_the_results_table():
    table = ("| target | rank | event | score | caption of the event |\n|---|---|---|---|---|\n"
             "| video | 1 | 17 | 0.912 | a red circle |\n| text | 2 | 4 | 0.801 | a blue square |")
    choices = explain_view.hit_choices(table).constructor_args["choices"]
    assert choices == [("video #1: event 17 (0.912)", "video:17"), ("text #2: event 4 (0.801)", "text:4")]
    assert explain_view.hit_choices("").constructor_args["choices"] == []


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The Retrieval tab (and with it /explain) over a copy of the bundled model, whose gallery is cached."""
    checkpoint = Path(shutil.copytree(BUNDLED, tmp_path_factory.mktemp("model") / "omnivec-default"))
    state = build_state(checkpoint, "cpu")
    with gr.Blocks() as demo:
        retrieval_tab.build(state)
    demo.queue()
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield Client(f"http://127.0.0.1:{port}/", verbose=False), state
    demo.close()


def summary_similarity(markdown: str) -> float:
    return float(markdown.split("similarity **")[1].split("**")[0])


@pytest.mark.app
def test_explain_a_sentence_and_a_clip(served):
    client, state = served
    sentence = "a small red circle bouncing"
    query_heat, words, hit_heat, hit_words, summary = client.predict(
        None, sentence, "video", 3, OMNISHAPES, "", GALLERY, api_name="/explain")
    assert query_heat is None and hit_words is None, "a sentence shows words, a clip heat"
    assert [w["token"] for w in words] == ["[CLS]", "a", "small", "red", "circle", "bouncing"]
    assert max(w["class_or_confidence"] for w in words) == 1.0
    assert Image.open(hit_heat).size == (4 * 134 - 6, 2 * 134 - 6), "a column of two frames per tubelet"
    assert summary.startswith(f"**{CAPTIONS} ↔ video**") and "“" in summary and "frames" in summary
    model, gallery = state.model, state.gallery(GALLERY)
    space = model.embedding.pair_space(CAPTIONS, "video")
    with torch.no_grad():
        query = model.embed(model.encode(CAPTIONS, [sentence]))[space][0]
    assert summary_similarity(summary) == pytest.approx(float(gallery.embeddings["video"][space][3] @ query), abs=2e-3)
    chosen = explain_view.explain_hit(state, "video:3", None, sentence, OMNISHAPES, "", GALLERY)  # the tab's button
    assert chosen[4] == summary and [w for w, _ in chosen[1]] == [w["token"] for w in words]
    with pytest.raises(gr.Error, match="search first"):
        explain_view.explain_hit(state, None, None, sentence, OMNISHAPES, "", GALLERY)


@pytest.mark.app
def test_explain_two_gallery_events_and_an_upload(served, tmp_path):
    client, state = served
    query_heat, words, hit_heat, hit_words, summary = client.predict(
        None, "", "points", 5, OMNISHAPES, "", GALLERY, "image", 5, api_name="/explain")
    assert words is None and hit_words is None
    assert Image.open(query_heat).size == (256, 256) and Image.open(hit_heat).size == (256, 256)
    assert summary.startswith("**image ↔ points**") and "point group" in summary and "patch row" in summary
    query_heat, _, hit_heat, _, summary = client.predict(
        handle_file(str(mf.make_png(tmp_path / "picture.png"))), "", "audio", 0, OMNISHAPES, "", GALLERY,
        api_name="/explain")
    assert Image.open(query_heat).size == (256, 256) and Image.open(hit_heat).size == (256, 256)
    assert summary.startswith("**image ↔ audio**") and "mel band" in summary
    pair = explain_view.explain_events(state, "imu", 2, "depth", 7, OMNISHAPES, "", GALLERY)  # the map's pair block
    assert pair[0].size == (400, 200) and pair[2].size == (256, 256) and "imu ↔ depth" in pair[4]


ON = (OMNISHAPES, "", GALLERY)  # the gallery
BAD = [((None, "", "video", 3, *ON), "empty"), ((None, "a red circle", "smell", 3, *ON), "unknown modality 'smell'"),
       ((None, "a red circle", "video", GALLERY, *ON), "out of range"),
       ((None, "a red circle", "video", 2.5, *ON), "whole number"),
       ((None, "a red circle", "video", 3, OMNISHAPES, "", GALLERY, "image", 2), "give one query"),
       ((None, "", "video", 3, OMNISHAPES, "", GALLERY, "image", -1), "out of range"),
       ((None, "a red circle", "video", 3, OMNISHAPES, "", 10), "minimum value 50")]  # the slider's own check


@pytest.mark.app
@pytest.mark.parametrize("args,said", BAD, ids=[s for _, s in BAD])
def test_bad_inputs_are_answered_clearly(served, args, said):
    client, _ = served
    with pytest.raises(Exception) as error:
        client.predict(*args, api_name="/explain")
    assert said in str(error.value), str(error.value)


@pytest.mark.app
def test_nan_is_refused(served):
    client, state = served
    with pytest.raises(gr.Error, match="whole number"):
        explain_view.explain(state, None, "a red circle", "video", float("nan"))
    with pytest.raises(Exception, match="whole number"):  # JSON has no NaN: a client can only send it as text
        client.predict(None, "a red circle", "video", "NaN", *ON, api_name="/explain")


def test_the_map_pair_block_builds_without_an_endpoint_of_its_own():
    from omnivec_app.state import FOLDER, AppState

    with gr.Blocks() as demo:
        source, folder = gr.Radio([OMNISHAPES, FOLDER], value=OMNISHAPES), gr.Textbox()
        n_events = gr.Slider(50, 1000, value=300)
        explain_view.build_pair_block(AppState(torch.device("cpu")), source, folder, n_events)
    names = [str(f.api_name).lower() for f in demo.fns.values()]
    assert names == ["false"], "one button, no endpoint of its own: /explain covers two gallery events"
