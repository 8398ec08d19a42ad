"""Exports: a selection on the Embedding map (`/export_selection`: its CSV names the selected events and its
.npy holds exactly the gallery's vectors of them), the one-page report (`/export_report`), the PNG, HTML and
CSV downloads beside figures and tables, and clear messages for bad inputs. One live server for the module."""
from __future__ import annotations

import base64
import csv
import io
import json
import re
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image

from omnivec_app import downloads, map_selection, media, report
from omnivec_app.architecture import architecture_figure
from omnivec_app.launch import build_state
from omnivec_app.main import build_app
from omnivec_app.map_tab import map_figure
from omnivec_app.predictions_view import pair_matrix_figure
from omnivec_app.state import FOLDER, OMNISHAPES
from omnivec_app.static_figure import png_bytes
from omnivec_app.training import TrainingManager
from omnivec_core.analysis.maps import compute_map
from omnivec_core.config import preset
from omnivec_core.data.omnishapes import ATTRIBUTES
from omnivec_core.model import OmniVec
from omnivec_core.train.checkpoint import save_model

pytestmark = pytest.mark.app  # one live server: the app tier
EVENTS = 50  # the gallery the tests select from (its embedding is the fixture's main cost)


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    """An untrained tiny model, saved as training saves one: what is exported need not be learned."""
    root = tmp_path_factory.mktemp("exports")
    config = preset("tiny")
    save_model(root / "model", OmniVec(config.model).eval(), config, 0)
    return build_state(root / "model", "cpu")


@pytest.fixture(scope="module")
def client(state, tmp_path_factory):
    demo = build_app(state, TrainingManager(tmp_path_factory.mktemp("runs")))
    demo.queue()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    demo.close()


def read_zip(path) -> tuple[list[dict], np.ndarray, dict]:
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["about.json", "selection.csv", "vectors.npy"]
        rows = list(csv.DictReader(io.StringIO(archive.read("selection.csv").decode())))
        vectors = np.load(io.BytesIO(archive.read("vectors.npy")), allow_pickle=False)
        return rows, vectors, json.loads(archive.read("about.json"))


def expected_points(events: str, held: list[str]) -> list[tuple[int, str]]:
    """(event, modality) of every point a selection names: an event alone is every modality of it."""
    chosen: dict[int, set] = {}
    for token in re.findall(r"\d+(?::\w+)?", events):
        e, _, m = token.partition(":")
        chosen.setdefault(int(e), set()).update([m] if m else held)
    return [(e, m) for e, names in chosen.items() for m in held if m in names]


@pytest.mark.parametrize("space,events", [("shared", "3,17,49"), ("stem", "[17, 3]"), ("vector", "5 5 9"),
                                          ("shared", '["8:video", "2", "8:image", "8:video"]')])
def test_export_selection_round_trip(client, state, space, events):
    """The CSV lists every selected point (an event alone: every modality of it), with its labels and caption;
    row i of the .npy is the gallery's vector of row i's event and modality, exactly."""
    path = client.predict(OMNISHAPES, EVENTS, "", space, events, api_name="/export_selection")
    rows, vectors, about = read_zip(path)
    gallery, modalities = state.gallery(EVENTS), list(state.model.cfg.modalities)
    name = (state.model.embedding.joint_space or "vector") if space == "shared" else space
    held = [m for m in modalities if name in gallery.embeddings[m]]
    points = expected_points(events, held)
    assert about["space"] == name and about["events"] == list(dict.fromkeys(e for e, _ in points))
    assert about["rows"] == len(rows)
    assert [(int(r["event"]), r["modality"]) for r in rows] == points
    assert vectors.dtype == np.float32 and vectors.shape == (len(rows), gallery.embeddings[held[0]][name].shape[1])
    for row, vector in zip(rows, vectors):
        e = int(row["event"])
        assert np.array_equal(vector, gallery.embeddings[row["modality"]][name][e].float().numpy())
        assert row["caption"] == gallery.captions[e]
        for attribute, ids in gallery.labels.items():
            assert row[attribute] == ATTRIBUTES[attribute][int(ids[e])]


BAD_SELECTIONS = [
    ((OMNISHAPES, EVENTS, "", "shared", ""), "no events selected"),
    ((OMNISHAPES, EVENTS, "", "shared", "3, x, 4.5"), "not event numbers: 'x', '4.5'"),
    ((OMNISHAPES, EVENTS, "", "shared", f"1,{EVENTS},-2"), f"{EVENTS}, -2 out of range"),
    ((OMNISHAPES, EVENTS, "", "shared", "[1, 2"), "not valid json"),
    ((OMNISHAPES, EVENTS, "", "shared", '{"events": [1]}'), "not event numbers"),
    ((OMNISHAPES, EVENTS, "", "nowhere", "1"), "'nowhere'"),
    ((OMNISHAPES, EVENTS, "", "shared", "1:smell"), "unknown modality 'smell'"),
    ((OMNISHAPES, 5, "", "shared", "1"), "minimum value 50"),
    (("somewhere", EVENTS, "", "shared", "1"), "'somewhere'"),
    ((FOLDER, EVENTS, "/definitely/not/here", "shared", "1"), "/definitely/not/here"),
]


@pytest.mark.parametrize("args,message", BAD_SELECTIONS, ids=[m for _, m in BAD_SELECTIONS])
def test_bad_selections_are_named(client, args, message):
    with pytest.raises(Exception) as error:
        client.predict(*args, api_name="/export_selection")
    assert message.lower() in str(error.value).lower(), str(error.value)


def test_selection_sizes_are_checked_without_the_slider(state):
    """A call from Python that skips the page's slider still gets the gallery size checked."""
    with pytest.raises(Exception, match="between 20 and 2000"):
        map_selection.export_selection(state, OMNISHAPES, 5, "", "shared", "1")
    with pytest.raises(Exception, match="unknown space 'nowhere'; choose 'shared'"):
        map_selection.export_selection(state, OMNISHAPES, EVENTS, "", "nowhere", "1")


def test_selection_is_listed_with_pictures_labels_and_captions(state):
    text, pictures, table, note = map_selection.show_selection(state, OMNISHAPES, EVENTS, "", [9, "2:image", 9])
    gallery, modalities = state.gallery(EVENTS), list(state.model.cfg.modalities)
    assert text == "9, 2:image" and f"2 events selected** ({len(modalities) + 1} points)" in note
    assert list(table["selected in"]) == [", ".join(modalities), "image"]
    assert [(int(e), c) for e, c in zip(table["event"], table["caption"])] == [(9, gallery.captions[9]),
                                                                                 (2, gallery.captions[2])]
    assert [caption for _, caption in pictures] == [f"event 9: {gallery.captions[9]}", f"event 2: {gallery.captions[2]}"]
    assert all(picture.size == (96, 96) for picture, _ in pictures)


def test_report_holds_its_parts(client, state):
    path = client.predict(0.5, EVENTS, api_name="/export_report")
    page = Path(path).read_text(encoding="utf-8")
    for part in ('id="card"', 'id="architecture"', 'id="pairs"', 'id="reconstructions"', 'id="map"',
                 "Reconstructions at 50% masking", f"Among {EVENTS} held-out events"):
        assert part in page, part
    assert "<script" not in page and "<link" not in page, "self-contained: no script, nothing fetched"
    inlined = re.findall(r'src="data:image/(png|gif);base64,([A-Za-z0-9+/=]+)"', page)
    reconstructed = [m for m in state.model.cfg.modalities if f"<th>{m}<br>event 0" in page]
    assert len(reconstructed) >= 3 and len(inlined) == 3 + 3 * len(reconstructed)
    for kind, data in inlined:  # every picture decodes
        Image.open(io.BytesIO(base64.b64decode(data))).load()


@pytest.mark.parametrize("args,message", [((1.5, EVENTS), "maximum value 0.95"), ((0.5, 3), "minimum value 50")])
def test_bad_report_inputs_are_named(client, args, message):
    with pytest.raises(Exception) as error:
        client.predict(*args, api_name="/export_report")
    assert message in str(error.value), str(error.value)


@pytest.mark.parametrize("args,message", [((1.5, EVENTS), "between 0 and 0.95"), ((0.5, 3), "between 20 and 2000"),
                                          (("lots", EVENTS), "must be a number")])
def test_report_inputs_are_checked_without_the_sliders(state, args, message):
    with pytest.raises(Exception, match=message):
        report.export_report(state, *args, progress=lambda *a, **k: None)


def test_every_figure_kind_downloads_as_png_and_html(state, tmp_path):
    """The app's figure kinds (map, 3-D map, pair matrix, architecture, point cloud, trace, line) as PNG and as
    an HTML page holding the same data; a Markdown table as CSV."""
    model, gallery = state.model, state.gallery(EVENTS)
    batch = state.world.render(1, seed=0)
    figures = {"map": map_figure(compute_map(gallery, "stem", model.cfg.modalities, "pca", 2, 0), gallery, "shape", "m", 3),
               "map3d": map_figure(compute_map(gallery, "stem", model.cfg.modalities, "pca", 3, 0), gallery,
                                   "modality", "m", 0),
               "pairs": pair_matrix_figure(model, gallery), "architecture": architecture_figure(model.cfg),
               "cloud": media.point_figure(batch["points"][0], (batch["points"][0, :, 0] > 0).long(), "cloud"),
               "line": media.line_figure([0.25, 0.5], [20.0, 15.0], "mask ratio", "PSNR")}
    for name, figure in figures.items():
        picture = Image.open(io.BytesIO(png_bytes(figure)))
        assert picture.format == "PNG" and picture.size[0] >= 500 and len(set(picture.getdata())) > 10, name
    value = {"type": "plotly", "plot": figures["map"].to_json()}  # what the page hands the button's handler
    png, page = (Path(f["path"]) for f in downloads.figure_files(["map"], value).value)
    assert (png.name, page.name) == ("map.png", "map.html") and Image.open(png).format == "PNG"
    text = page.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in text and value["plot"][:40] in text.replace(" ", "") or '"scattergl"' in text
    with pytest.raises(Exception, match="draw the figure first"):
        downloads.figure_files(["empty"], None)
    table = "note\n\n| metric | **A** | B |\n|---|:---:|---|\n| R@1 | `0.5` | 0.25 |\n"
    [csv_file] = downloads.table_files("scores", table).value
    assert Path(csv_file["path"]).read_text().splitlines() == ["metric,A,B", "R@1,0.5,0.25"]
    with pytest.raises(Exception, match="no table"):
        downloads.table_files("scores", "no table here")
