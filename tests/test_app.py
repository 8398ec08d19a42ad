"""End to end through gradio_client: every api_name with real files, and a bad-input suite after
which the server must still answer. Outputs are checked for what they hold: a plot is parsed from the
JSON gradio_client returns and its traces, axes and values are checked; a picture, GIF or WAV is opened
and its format, size, frame count or sample rate checked."""
from __future__ import annotations

import base64
import io
import inspect
import json
import re
import socket
import time
import wave

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from bench import media_factory as mf
from omnivec_app import media
from omnivec_app.main import build_app
from omnivec_app.training import TrainingManager
from omnivec_app.launch import build_state
from omnivec_core.analysis.efficiency import DEFAULT_RATES
from omnivec_core.analysis.reconstruction import RECONSTRUCTED, ratio_sweep
from omnivec_core.config import StageConfig, preset
from omnivec_core.data.omnishapes import ATTRIBUTES
from omnivec_core.modalities import CAPTIONS, REGISTRY
from omnivec_core.train.trainer import STOP_FILE, Trainer

SCALE = 4  # the app shows pictures 4x enlarged (gallery thumbnails: 128 px)
PANELS = 4  # original, masked input, raw model output, reconstruction + visible


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ what an output holds

def plot(value) -> dict:
    """A gr.Plot output as gradio_client returns it ({"type": "plotly", "plot": JSON}) -> the figure's dict."""
    assert isinstance(value, dict) and value.get("type") == "plotly", f"not a plotly figure: {value!r:.200}"
    figure = json.loads(value["plot"])
    assert figure["data"], "the figure has no traces"
    return figure


def values(data) -> np.ndarray:
    """A trace's array: plotly writes numpy arrays as {"dtype", "bdata" (base64), "shape"}, lists as lists."""
    if isinstance(data, dict):
        array = np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
        shape = data.get("shape")
        return array.reshape([int(s) for s in str(shape).split(",")]) if shape else array
    return np.asarray(data)


def axis_title(figure: dict, axis: str) -> str:
    return figure["layout"][axis]["title"]["text"]


def picture(path, size: tuple[int, int], formats=("PNG", "WEBP")) -> Image.Image:
    assert isinstance(path, str), f"not a file: {path!r}"
    image = Image.open(path)
    assert image.format in formats and image.size == size, (path, image.format, image.size)
    image.load()  # the whole file decodes
    return image


def animation(path, frames: int, size: tuple[int, int]) -> None:
    image = picture(path, size, ("GIF",))
    assert image.n_frames == frames, f"{path}: {image.n_frames} frames"
    image.seek(frames - 1)
    image.load()


def sound(path, rate: int = 16000, samples: int = 16000, tolerance: float = 0.0) -> np.ndarray:
    """A mono 16-bit WAV of `samples` samples (within `tolerance` of them) at `rate`; its samples."""
    assert isinstance(path, str) and path.endswith(".wav"), f"not a WAV: {path!r}"
    with wave.open(path) as read:
        assert (read.getframerate(), read.getnchannels(), read.getsampwidth()) == (rate, 1, 2)
        n = read.getnframes()
        assert abs(n - samples) <= tolerance * samples, f"{path}: {n} samples, expected {samples}"
        data = np.frombuffer(read.readframes(n), "<i2")
    assert len(data) == n and np.abs(data).max() > 0, f"{path} is silent or cut"
    return data


def cloud(value, points: int | None = None) -> np.ndarray:
    """A point-cloud plot: one 3D marker trace of finite points (`points` of them when given) -> (N, 3)."""
    figure = plot(value)
    [trace] = figure["data"]
    assert trace["type"] == "scatter3d" and trace["mode"] == "markers"
    xyz = np.stack([values(trace[a]) for a in "xyz"], 1)
    assert np.isfinite(xyz).all() and len(xyz) > 0
    if points is not None:
        assert len(xyz) == points, f"{len(xyz)} points, expected {points}"
    return xyz


IMU_CHANNELS = ("ax (g)", "ay (g)", "az (g)", "gx (rad/s)", "gy (rad/s)", "gz (rad/s)")


def imu_trace(value, samples: int = 100, rate: float = 100.0) -> np.ndarray:
    """An IMU plot: six line traces over 1 s, the accelerations in one subplot (g), the angular
    velocities in the other (rad/s), time in seconds on the shared x axis -> the (samples, 6) values."""
    figure = plot(value)
    traces = figure["data"]
    assert [t["type"] for t in traces] == ["scatter"] * 6 and all(t["mode"] == "lines" for t in traces)
    assert tuple(t["name"] for t in traces) == IMU_CHANNELS
    assert [(t["xaxis"], t["yaxis"]) for t in traces] == [("x", "y")] * 3 + [("x2", "y2")] * 3, "two subplots"
    assert (axis_title(figure, "yaxis"), axis_title(figure, "yaxis2")) == ("g", "rad/s")
    assert axis_title(figure, "xaxis2") == "time (s)"
    for t in traces:
        assert np.allclose(values(t["x"]), np.arange(samples) / rate), "x is the time of each sample"
    y = np.stack([values(t["y"]) for t in traces], 1)
    assert y.shape == (samples, 6) and np.isfinite(y).all()
    return y


def heat(value, x_title: str | None = None, y_title: str | None = None) -> tuple[dict, np.ndarray]:
    """A heat-map plot: one heatmap trace -> (its trace, z)."""
    figure = plot(value)
    [trace] = figure["data"]
    assert trace["type"] == "heatmap"
    if x_title is not None:
        assert axis_title(figure, "xaxis") == x_title
    if y_title is not None:
        assert axis_title(figure, "yaxis") == y_title
    z = values(trace["z"]).astype(float)
    assert z.ndim == 2 and z.shape == (len(trace["y"]), len(trace["x"])), (z.shape, trace["y"], trace["x"])
    return trace, z


# ------------------------------------------------------------------ the server

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    return {
        "png": mf.make_png(folder / "picture.png"),
        "wav": mf.make_wav(folder / "tone.wav"),
        "mp4": mf.make_mp4_with_aac(folder / "clip.mp4", seconds=2.0),
        "ply": mf.make_ply(folder / "cloud.ply"),
        "csv": mf.make_imu_csv(folder / "imu.csv"),
        "npy": mf.make_imu_npy(folder / "imu.npy"),
        "folder": folder,
    }


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    config = preset("tiny")
    config.train.batch_size = 8
    config.model.text_decoder_depth = 1  # OmniVL's decoders, for the Caption tab and re-ranking
    config.train.stages = [StageConfig("smoke", 2, {"mae": 1.0, "contrastive": 1.0, "matching": 1.0, "captioning": 1.0})]
    Trainer(config, root / "model", "cpu").run()
    return build_state(root / "model", "cpu")


@pytest.fixture(scope="module")
def manager(tmp_path_factory):
    return TrainingManager(tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def client(state, manager):
    demo = build_app(state, manager)
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    demo.close()


def alive(client: Client) -> None:
    result = client.predict(0, 1, api_name="/sample")
    assert "moving" in result[-1] or "spinning" in result[-1] or "bouncing" in result[-1] or "growing" in result[-1] \
        or "shrinking" in result[-1]


# ------------------------------------------------------------------ Data tab

def check_view(view, value) -> None:
    """What the app shows for one registry view of an event, against the view itself."""
    if view.kind in ("picture", "heat"):
        height, width = view.data.shape[-2:]
        shown = picture(value, (width * SCALE, height * SCALE))
        if view.kind == "picture":  # lossless: the event's own pixels, enlarged
            assert np.array_equal(np.asarray(shown.convert("RGB")), np.asarray(media.to_pil(view.data, SCALE)))
    elif view.kind == "animation":
        frames, _, height, width = view.data.shape
        animation(value, frames, (width * SCALE, height * SCALE))
    elif view.kind == "sound":
        heard = sound(value, int(view.rate), len(view.data))
        assert np.abs(heard - (view.data.clamp(-1, 1) * 32767).short().numpy()).max() <= 1
    elif view.kind == "cloud":
        assert np.allclose(cloud(value, len(view.data)), view.data.numpy(), atol=1e-5)
    elif view.kind == "trace":
        shown = imu_trace(value, len(view.data), view.rate)
        assert np.allclose(shown, view.data.numpy(), atol=1e-5), "the event's own IMU trace"
    else:
        raise AssertionError(f"no check for a {view.kind} view")


def test_sample(client, state):
    out = client.predict(3, 7, api_name="/sample")
    batch = state.world.render(1, seed=3, start=7)
    shown = [(m.name, view) for m in REGISTRY.values() if not m.language for _, view in m.event_views(batch, 0)]
    assert len(out) == len(shown) + 1, "one output per registry view of the event, then the summary"
    assert [(name, view.kind) for name, view in shown] == [
        ("image", "picture"), ("video", "animation"), ("audio", "sound"), ("audio", "heat"), ("depth", "heat"),
        ("points", "cloud"), ("imu", "trace")]
    for (name, view), value in zip(shown, out):
        check_view(view, value)
    summary = out[-1]
    assert summary.startswith(f"**{state.world.describe(batch.labels_row(0))}**")
    assert summary.count("•") == state.world.config.captions_per_event == 3


def test_looks(client):
    """The Data tab's looks sheet: one column per look, four rows of views under a header."""
    path = client.predict(3, 7, 4, api_name="/looks")
    path = path["path"] if isinstance(path, dict) else path
    with Image.open(path) as picture:
        width, height = picture.size
        columns = np.asarray(picture.convert("RGB"), dtype=np.float32)[60:, :, :]
    assert width == 4 * 128 and height > 4 * 128
    plain, varied = columns[:, :128], columns[:, 128:256]
    assert np.abs(plain - varied).mean() > 5, "a varied look differs from the plain one"


def heads_table(markdown: str, modality: str) -> dict[str, str]:
    """The heads' table of one modality in a predictions Markdown -> attribute: "class (probability)"."""
    part = markdown.split(f"**{modality}**", 1)[1].split("\n\n**", 1)[0]
    rows = [r.split("|")[1:3] for r in part.split("\n") if r.startswith("| ") and not r.startswith("| attribute")]
    return {a.strip(): c.strip() for a, c in rows}


def test_predict_event(client, state):
    out = client.predict(3, 7, api_name="/predict_event")
    batch = state.world.render(1, seed=3, start=7)
    dense = [m for m, spec in REGISTRY.items() if spec.dense]
    assert dense == ["image", "depth", "points"] and len(out) == 1 + len(dense)
    text = out[0]
    assert text.startswith(f"**The event:** {state.world.describe(batch.labels_row(0))}")
    for m in state.model.cfg.modalities:  # every modality's heads, on the attributes it can observe
        table = heads_table(text, m)
        assert set(table) == set(REGISTRY[m].observes), (m, table)
        assert all(re.fullmatch(r"\S+ \(\d+%\)", c) for c in table.values()), table
    for m, value in zip(dense, out[1:]):  # the predicted classes over the event's own view
        view = REGISTRY[m].event_views(batch, 0)[0][1]
        if view.kind == "cloud":
            cloud(value, len(view.data))
        else:
            height, width = view.data.shape[-2:]
            picture(value, (width * SCALE, height * SCALE))


# ------------------------------------------------------------------ Reconstruct tab

def check_reconstruction(state, out, modality: str, ratio: float, tokens: int | None = None) -> dict:
    """/reconstruct's 4 pictures, 4 plots, 2 sounds and report for `modality`: only the outputs its view
    kind fills are set, each holds what it should; -> the plots' contents (IMU values or point clouds)."""
    spec = REGISTRY[modality]
    assert len(out) == PANELS + PANELS + 2 + 1
    out = list(out)
    pictures, plots, sounds, report = out[:4], out[4:8], out[8:10], out[10]
    event = state.world.render(1, seed=0, modalities=(modality,))
    like = spec.view(spec.batch_input(event)[0]).data  # how a model input of this modality is shown
    size = (like.shape[-1] * SCALE, like.shape[-2] * SCALE)
    shown = {}
    if spec.view_kind in ("picture", "heat"):
        for value in pictures:
            picture(value, size)
    elif spec.view_kind == "animation":
        for value in pictures:
            animation(value, len(like), size)
    else:
        assert pictures == [None] * 4, "a plotted modality fills no picture"
    if spec.view_kind == "trace":
        shown = dict(zip(("original", "masked", "raw", "pasted"), (imu_trace(v) for v in plots)))
    elif spec.view_kind == "cloud":
        shown = dict(zip(("original", "masked", "raw", "pasted"), (cloud(v) for v in plots)))
        assert len(shown["original"]) == len(shown["pasted"]) == len(shown["raw"]) == spec.length
        assert 0 < len(shown["masked"]) < spec.length, "the masked input shows the visible groups only"
    else:
        assert plots == [None] * 4, "a pictured modality fills no plot"
    if spec.audible:  # Griffin-Lim from the log-mel frames: 1 s, give or take a hop
        for value in sounds:
            sound(value, 16000, 16000, tolerance=0.02)
    else:
        assert sounds == [None, None]
    assert spec.score_name in report, report
    check_said(report, modality)  # the input in words, by the generation decoder
    hidden, total = map(int, re.search(r"(\d+) of (\d+) tokens hidden", report).groups())
    assert abs(hidden - ratio * total) <= 1, report
    if tokens is not None:
        assert total == tokens
    return shown


def test_reconstructed_modalities():
    assert set(RECONSTRUCTED) == set(REGISTRY) - {CAPTIONS} == {"image", "video", "audio", "depth", "points", "imu"}


@pytest.mark.parametrize("modality", ["image", "video", "audio", "depth", "points", "imu"])
def test_reconstruct_each_modality(client, state, modality):
    out = client.predict(modality, 0.75, "random", 0, 5, 0, None, api_name="/reconstruct")
    shown = check_reconstruction(state, out, modality, 0.75, tokens=REGISTRY[modality].tokens)
    if modality == "imu":  # the original panel is event 5's own trace
        trace = REGISTRY["imu"].batch_input(state.world.render(1, seed=0, start=5, modalities=("imu",)))[0]
        assert np.allclose(shown["original"], trace.numpy(), atol=1e-5)


@pytest.mark.parametrize("kind,modality", [("png", "image"), ("png", "depth"), ("mp4", "video"), ("wav", "audio"),
                                           ("ply", "points"), ("mp4", "audio"), ("csv", "imu"), ("npy", "imu")])
def test_reconstruct_uploads(client, state, files, kind, modality):
    out = client.predict(modality, 0.5, "random", 0, 0, 0, handle_file(str(files[kind])), api_name="/reconstruct")
    assert "hidden" in out[-1]
    shown = check_reconstruction(state, out, modality, 0.5)
    if modality == "imu":  # the file's own trace, channels in order (100 Hz for 1 s: nothing to resample)
        assert np.allclose(shown["original"], mf.imu_signal(np.arange(100) / 100), atol=1e-4)


@pytest.mark.parametrize("modality", ["image", "points", "imu"])
def test_reconstruct_sweep(client, modality):
    figure = plot(client.predict(modality, 0.75, "random", 0, 0, 0, None, api_name="/reconstruct_sweep"))
    [trace] = figure["data"]
    ratios = inspect.signature(ratio_sweep).parameters["ratios"].default
    assert trace["type"] == "scatter" and np.allclose(values(trace["x"]), ratios), "x: the mask ratios"
    scores = values(trace["y"]).astype(float)
    assert len(scores) == len(ratios) and np.isfinite(scores).all()
    if modality == "points":
        assert (scores >= 0).all(), "a Chamfer distance"
    assert axis_title(figure, "xaxis") == "mask ratio" and axis_title(figure, "yaxis") == REGISTRY[modality].score_name
    assert modality in figure["layout"]["title"]["text"]


# ------------------------------------------------------------------ Embedding map tab

@pytest.mark.parametrize("method,dims,colour_by,pair_lines", [("pca", 2, "shape", 5), ("tsne", 2, "modality", 5),
                                                               ("pca", 3, "modality", 0)])
def test_embedding_map(client, state, method, dims, colour_by, pair_lines):
    n_events = 50
    shared, stems, report = client.predict(method, dims, colour_by, n_events, 10, 10, 0.1, 0, pair_lines,
                                           api_name="/embedding_map")
    modalities = list(state.model.cfg.modalities)
    for value in (shared, stems):
        figure = plot(value)
        points = [t for t in figure["data"] if t["mode"] == "markers"]
        lines = [t for t in figure["data"] if t["mode"] == "lines"]
        assert len(points) + len(lines) == len(figure["data"])
        assert {t["type"] for t in figure["data"]} == {"scattergl" if dims == 2 else "scatter3d"}
        names = [t["name"] for t in points]
        if colour_by == "modality":  # one trace per modality, each with every event
            assert names == modalities
            assert all(len(values(t["x"])) == n_events for t in points)
        else:  # one trace per class present, every event once per modality among them
            assert len(set(names)) == len(names) and set(names) <= set(ATTRIBUTES[colour_by]) and len(names) > 1
            assert sum(len(values(t["x"])) for t in points) == n_events * len(modalities)
        for t in points:
            coordinates = np.stack([values(t[a]) for a in "xyz"[:dims]], 1).astype(float)
            assert np.isfinite(coordinates).all()
            events = values(t["customdata"])
            assert ((0 <= events) & (events < n_events)).all(), "a click hands back the event number"
        assert len(lines) == pair_lines, "one line per joined event"
        assert all(len(values(t["x"])) == len(modalities) and t["showlegend"] is False for t in lines)
        hover_pictures(figure, n_events)
    assert "neighbours" in report and len(re.findall(r"\d+% of each point", report)) == 2, report


# ------------------------------------------------------------------ Embedding map tab: the timeline

@pytest.fixture(scope="module")
def timeline_run(state, tmp_path_factory):
    """A run directory with a timeline of the state's model (whose own directory has none): three snapshots,
    at steps 0, 2 and 4, of a 12-event probe; the weights do not change between them."""
    from omnivec_core.analysis.timeline import TimelineRecorder
    from omnivec_core.train.checkpoint import load_model

    out = tmp_path_factory.mktemp("timeline-run")
    model, _ = load_model(state.checkpoint)
    recorder = TimelineRecorder(out, model, every=2, n=12)
    for step in (0, 2, 4):
        recorder.record(model, step)
    return out


def test_timeline(client, state, timeline_run):
    with pytest.raises(Exception, match="has no timeline"):
        client.predict("", "modality", "joint", api_name="/timeline_load")  # the loaded model's directory
    slider, shown, note = client.predict(str(timeline_run), "modality", "joint", api_name="/timeline_load")
    assert (slider["minimum"], slider["maximum"], slider["value"]) == (0, 2, 2), "the slider spans the 3 snapshots"
    assert "step 4" in plot(shown)["layout"]["title"]["text"] and "Step 4" in note
    modalities, frames = list(state.model.cfg.modalities), []
    for index in range(3):  # the slider's handler, one call per snapshot
        shown, note = client.predict(str(timeline_run), index, "modality", "joint", api_name="/timeline_map")
        figure = plot(shown)
        points = [t for t in figure["data"] if t["mode"] == "markers"]
        assert [t["name"] for t in points] == modalities and all(len(values(t["x"])) == 12 for t in points)
        assert f"at step {2 * index}, snapshot {index + 1} of 3" in figure["layout"]["title"]["text"]
        assert f"Step {2 * index}" in note and "12 held-out probe events" in note
        frames.append(np.concatenate([np.stack([values(t["x"]), values(t["y"])], 1) for t in points]))
    assert all(np.isfinite(f).all() and np.allclose(f, frames[0], atol=1e-6) for f in frames), \
        "unchanged weights: every point stays where it was"
    shown, _ = client.predict(str(timeline_run), 1, "shape", "vector", api_name="/timeline_map")
    points = [t for t in plot(shown)["data"] if t["mode"] == "markers"]
    assert {t["name"] for t in points} <= set(ATTRIBUTES["shape"])
    assert sum(len(values(t["x"])) for t in points) == 12 * len(modalities)
    with pytest.raises(Exception, match="out of range|greater than maximum"):
        client.predict(str(timeline_run), 3, "modality", "joint", api_name="/timeline_map")
    alive(client)


# ------------------------------------------------------------------ Activations tab

@pytest.mark.parametrize("modality", list(REGISTRY))
def test_activations(client, state, modality):
    overview, norms, attention, temporal = client.predict(modality, 2, 0, 0, 4, api_name="/activations")
    assert temporal is None, "joint attention has no temporal part to show"
    spec, cfg = REGISTRY[modality], state.model.cfg
    blocks = [f"block {i + 1}" for i in range(cfg.depth)]
    trace, z = heat(overview, "modality", "layer")
    assert z.shape == (cfg.depth, len(cfg.modalities)), "layers x modalities"
    assert trace["x"] == list(cfg.modalities) and trace["y"] == blocks
    assert np.isfinite(z).all() and (z > 0).all()
    trace, z = heat(norms, "token", "layer")
    tokens = z.shape[1]
    assert z.shape[0] == cfg.depth and trace["y"] == blocks and np.isfinite(z).all() and (z >= 0).all()
    if modality != CAPTIONS:  # a caption has as many tokens as word pieces
        assert tokens == spec.tokens
    trace, z = heat(attention)
    assert np.isfinite(z).all() and (z >= 0).all() and z.sum() <= 1 + 1e-4, "attention weights of the meta token"
    if spec.layout == "spatial":  # a patch grid, averaged over time
        assert z.shape[0] == z.shape[1] and z.size * spec.grid[0] == tokens
    else:
        assert z.size == tokens


# ------------------------------------------------------------------ Retrieval tab

QUERIES = {"mp4": ["video", "audio"], "wav": ["audio"], "png": ["image"], "ply": ["points"], "csv": ["imu"],
           None: [CAPTIONS]}  # the modalities each kind of query embeds as (a clip: its frames and its sound)


@pytest.mark.parametrize("kind", list(QUERIES))
def test_retrieve(client, files, kind):
    upload = handle_file(str(files[kind])) if kind else None
    targets, k = list(REGISTRY), 3
    assert "imu" in targets
    out = client.predict(upload, "a small red circle bouncing", targets, k, 50, rerank=True, api_name="/retrieve")
    assert len(out) == 9
    note, hits, *sounds, table, similarities = out[:7]
    queries = QUERIES[kind]
    assert note.split("\n")[0] == "Query: " + " + ".join(queries), note
    # the gallery: k previews per target that is neither heard nor read, in the order of the targets
    pictured = [t for t in targets if t not in ("audio", CAPTIONS)]
    assert [h["caption"].split(":")[0] for h in hits] == [f"{t} #{r + 1}" for t in pictured for r in range(k)]
    for hit in hits:
        target = hit["caption"].split(" ")[0]
        if target == "video":
            animation(hit["image"], 8, (128, 128))
        else:  # images and depth maps at half size, point clouds and IMU traces drawn small
            picture(hit["image"], (128, 128), ("PNG",))
    assert len(sounds) == 3
    for value in sounds:
        sound(value)  # the nearest sounds: 1 s at 16 kHz
    rows = [r for r in table.split("\n")[2:] if r.startswith("|")]
    assert [r.split("|")[1].strip() for r in rows] == [t for t in targets for _ in range(k)]
    trace, z = heat(similarities, "rank", "query → target")
    assert z.shape == (len(targets), k) and trace["x"] == [f"#{r + 1}" for r in range(k)]
    sources = [next((m for m in queries if m != t), queries[0]) for t in targets]
    assert trace["y"] == [f"{s}→{t}" for s, t in zip(sources, targets)]
    assert np.isfinite(z).all() and (np.abs(z) <= 1 + 1e-5).all(), "cosine similarities"
    assert (np.diff(z, axis=1) <= 1e-6).all(), "best first"
    scores = [float(r.split("|")[4]) for r in rows]
    assert np.allclose(scores, z.reshape(-1), atol=5e-4), "the table lists the same scores"
    if kind == "csv":  # an IMU trace finds itself among IMU traces best
        assert z[targets.index("imu"), 0] == z[:, 0].max()
    # what the heads say about the query: a table per query modality, the first one's class probabilities,
    # the segmentation of the first dense one, and the gallery's modality x modality pair matrix
    pairs, reranked = out[7:]
    check_reranking(reranked, kind, targets, k)
    heads, probabilities, segmentation, segmented_points = client.predict(
        upload, "a small red circle bouncing", api_name="/query_heads")
    for m in queries:  # what the generation decoder says of each signal the query gives
        if m != CAPTIONS:
            check_said(heads, m)
    for m in queries:
        assert set(heads_table(heads, m)) == set(REGISTRY[m].observes)
    bars = plot(probabilities)["data"]
    assert [t["name"] for t in bars] == list(REGISTRY[queries[0]].observes) and {t["type"] for t in bars} == {"bar"}
    for t in bars:
        p = values(t["y"]).astype(float)
        assert len(p) == len(ATTRIBUTES[t["name"]]) and abs(p.sum() - 1) < 1e-3, "a softmax over the classes"
    dense = next((m for m in queries if REGISTRY[m].dense), None)
    assert (segmentation is not None) == (dense in ("image", "depth")), segmentation
    assert (segmented_points is not None) == (dense == "points"), segmented_points
    if segmentation is not None:
        picture(segmentation, (256, 256))
    if segmented_points is not None:
        cloud(segmented_points)
    matrices = plot(pairs)["data"]
    assert [t["type"] for t in matrices] == ["heatmap", "heatmap"], "instance R@1 and attribute precision@1"
    for t in matrices:
        z = values(t["z"]).astype(float)
        assert z.shape == (len(REGISTRY), len(REGISTRY)) and list(t["x"]) == list(t["y"]) == list(REGISTRY)
        assert ((z[np.isfinite(z)] >= 0) & (z[np.isfinite(z)] <= 1)).all() and np.isfinite(z).any()


# ------------------------------------------------------------------ your own media: a folder gallery

FOLDER_CLASSES = {"red-left": ((230, 30, 30), "left"), "blue-right": ((30, 60, 230), "right")}


@pytest.fixture(scope="module")
def my_folder(tmp_path_factory, monkeypatch_module):
    """Class folders of clips drawn here, their captions, and one broken clip; the caches in a folder of their own."""
    monkeypatch_module.setenv("OMNIVEC_CACHE", str(tmp_path_factory.mktemp("cache")))
    root = tmp_path_factory.mktemp("my-clips")
    rows = []
    for name, (rgb, direction) in FOLDER_CLASSES.items():
        (root / name).mkdir()
        for i in range(3):
            mf.make_square_clip(root / name / f"clip{i}.mp4", rgb, direction, seconds=1.0, size=64)
            rows.append(f"{name}/clip{i}.mp4,a {name.split('-')[0]} square moving {direction}")
    (root / "red-left" / "broken.mp4").write_bytes(b"")
    (root / "captions.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_a_folder_is_indexed_and_searched(client, state, my_folder):
    report, source = client.predict(str(my_folder), api_name="/index_folder")
    assert source == "my folder"
    assert "embedded 6 image, 6 video, 6 audio, 6 text" in report, report
    assert "broken.mp4" in report, "the skipped file is named"
    out = client.predict(None, "a red square moving left", ["video", "audio", "image"], 3, 50, "my folder",
                         str(my_folder), api_name="/retrieve")
    _, hits, *sounds, table, _ = out[:7]
    rows = [r.split("|")[1:-1] for r in table.split("\n")[2:] if r.startswith("|")]
    assert [r[0].strip() for r in rows] == ["video"] * 3 + ["audio"] * 3 + ["image"] * 3
    assert all(".mp4)" in r[4] and 0 <= int(r[2]) < 6 for r in rows), "hits are the folder's items, named by file"
    for hit in hits:
        if hit["caption"].startswith("video"):
            animation(hit["image"], 8, (128, 128))
        else:
            picture(hit["image"], (128, 128), ("PNG",))
    for value in sounds:
        sound(value, tolerance=0.05)  # the item's own sound track: the clip's tone
    shared, _, note = client.predict("pca", 2, "class", 50, 10, 10, 0.1, 0, 3, "my folder", str(my_folder),
                                     api_name="/embedding_map")
    points = [t for t in plot(shared)["data"] if t["mode"] == "markers"]
    assert sorted(t["name"] for t in points) == sorted(FOLDER_CLASSES)
    assert [p.size for p in hover_pictures(plot(shared), 6)] == [(64, 64)] * 6, "every clip's frame on hover"
    out = client.predict("video", 0.5, "random", 0, 2, 0, None, "my folder", str(my_folder), api_name="/reconstruct")
    check_reconstruction(state, out, "video", 0.5)
    assert "item 2 of your folder" in out[-1] and ".mp4" in out[-1], "the report names the item reconstructed"
    with pytest.raises(Exception, match=r"item 1 \(.*\) has no depth; it has "):
        client.predict("depth", 0.5, "random", 0, 1, 0, None, "my folder", str(my_folder), api_name="/reconstruct")
    with pytest.raises(Exception, match="items 0 to 5; there is no item 6"):
        client.predict("image", 0.5, "random", 0, 6, 0, None, "my folder", str(my_folder), api_name="/reconstruct")
    assert sum(len(values(t["x"])) for t in points) == 6 * len(state_modalities_of_folder())
    with pytest.raises(Exception, match="not a folder"):
        client.predict(str(my_folder / "captions.csv"), api_name="/index_folder")
    alive(client)


def hover_pictures(figure: dict, count: int) -> list:
    """The map's hover thumbnails (layout.meta): one inline JPEG per event or item, decoded."""
    from PIL import Image

    sources = figure["layout"]["meta"]["thumbnails"]
    assert len(sources) == count and all(s.startswith("data:image/jpeg;base64,") for s in sources)
    pictures = [Image.open(io.BytesIO(base64.b64decode(s.split(",", 1)[1]))) for s in sources]
    assert len({p.tobytes() for p in pictures}) > 1, "the thumbnails differ from event to event"
    return pictures


def state_modalities_of_folder() -> tuple[str, ...]:
    return ("image", "video", "audio", CAPTIONS)


def check_reranking(markdown: str, kind: str | None, targets: list[str], k: int) -> None:
    """A sentence query: each target's new top-k from the contrastive top 10, with the ranks they had."""
    rows = [r.split("|")[1:-1] for r in markdown.split("\n") if r.startswith("| ") and not r.startswith("| target")]
    if kind is not None:
        assert rows == [], "only a sentence is re-ranked"
        return
    assert [r[0].strip() for r in rows] == [t for t in targets if t != CAPTIONS for _ in range(k)]
    for target in {r[0] for r in rows}:
        mine = [r for r in rows if r[0] == target]
        assert [int(r[1]) for r in mine] == list(range(1, k + 1))
        assert len({int(r[2]) for r in mine}) == k and all(1 <= int(r[2]) <= 10 for r in mine)
        match, score = [float(r[4]) for r in mine], [float(r[6]) for r in mine]
        assert all(0 <= p <= 1 for p in match) and score == sorted(score, reverse=True), "best score first"


SAID = re.compile(r"- \*\*(\w+)\*\*: the model says \*“([^”]*)”\*")


def check_said(markdown: str, modality: str) -> str:
    """The caption the markdown gives for `modality`: words of the captioner's vocabulary only."""
    from omnivec_core.data.omnishapes import caption_words

    said = dict(SAID.findall(markdown))
    assert modality in said, markdown
    assert set(said[modality].lower().replace(",", " ,").split()) <= set(caption_words()), said[modality]
    return said[modality]


# ------------------------------------------------------------------ Caption tab

@pytest.mark.parametrize("kind", ["mp4", "wav", "png", "ply", "csv", None])
@pytest.mark.parametrize("decoding", ["greedy", "beam", "nucleus"])
def test_caption(client, state, files, kind, decoding):
    upload = handle_file(str(files[kind])) if kind else None
    out = client.predict(upload, 3, 7, decoding, api_name="/caption")
    modalities = QUERIES[kind] if kind else [m for m in state.model.cfg.modalities if m != CAPTIONS]
    for m in modalities:
        check_said(out, m)
    if kind is None:  # an event: what it is, and how well its own captions match by the alignment decoder
        assert out.startswith(f"**The event:** {state.world.describe(state.world.render(1, seed=3, start=7).labels_row(0))}")
        rows = [r for r in out.split("\n") if r.startswith("| ") and not r.startswith("| the event")]
        assert len(rows) == 3 and all(0 <= float(r.split("|")[2]) <= 1 for r in rows)


# ------------------------------------------------------------------ Efficiency tab

@pytest.mark.parametrize("with_curve", [True, False])
def test_droptoken(client, with_curve):
    table, figure = client.predict(0.5, 0.25, with_curve, 32, api_name="/droptoken")
    rows = [r for r in table.split("\n") if r.startswith("| 0.")]
    assert rows[0].startswith("| 0.50, 0.25 |")
    if not with_curve:
        assert len(rows) == 1 and figure is None
        return
    assert len(rows) == 1 + len(DEFAULT_RATES) and table.count("(curve)") == len(DEFAULT_RATES) == 4
    figure = plot(figure)
    rates = [f"{r:.0%}" for r in DEFAULT_RATES]
    assert [(t["type"], t["name"]) for t in figure["data"]] == [
        ("scatter", "video→audio R@1"), ("scatter", "motion probe accuracy"), ("bar", "GFLOPs per clip")]
    assert all(list(t["x"]) == rates for t in figure["data"]), "one point per drop rate"
    for t in figure["data"][:2]:
        accuracy = values(t["y"]).astype(float)
        assert ((0 <= accuracy) & (accuracy <= 1)).all()
    gflops = values(figure["data"][2]["y"]).astype(float)
    assert figure["data"][2]["yaxis"] == "y2" and (np.diff(gflops) < 0).all(), "dropping tokens saves work"
    assert axis_title(figure, "xaxis") == "tokens dropped"
    assert (axis_title(figure, "yaxis"), axis_title(figure, "yaxis2")) == ("accuracy", "GFLOPs")


# ------------------------------------------------------------------ Overview tab, the API as a whole

def test_refresh(client, state):
    summary, diagram = client.predict(api_name="/refresh")
    assert summary == state.describe()
    figure = json.loads(diagram["plot"]) if isinstance(diagram, dict) else None
    assert figure is not None and diagram["type"] == "plotly"
    cfg = state.model.cfg
    drawn = [a.get("text", "") for a in figure["layout"]["annotations"]]
    for m in cfg.modalities:  # a box per input modality, with its token count, then the shared parts
        assert f"<b>{m}</b><br>{REGISTRY[m].tokens} tokens" in drawn, drawn
    assert any(f"{cfg.depth} blocks x {cfg.heads} heads" in text for text in drawn)
    assert len(figure["layout"]["shapes"]) == 2 * len(cfg.modalities) + 7, "boxes: two per modality, seven shared"


TESTED = {"/sample", "/looks", "/predict_event", "/reconstruct", "/reconstruct_sweep", "/embedding_map", "/activations",
          "/retrieve", "/caption", "/droptoken", "/train", "/train_stop", "/train_load", "/refresh", "/index_folder",
          "/train_command", "/papers_table", "/timeline_load", "/timeline_map", "/compare_models", "/query_heads",
          "/export_selection", "/export_report",  # the exports: tests/test_exports.py
          "/explain"}  # tests/test_explain.py


def test_every_named_endpoint_is_tested(client):
    endpoints = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert endpoints - TESTED == set(), "endpoints without a test here (an internal event wants api_name=False)"
    assert TESTED - endpoints == set(), "tested endpoints the app no longer has"


# ------------------------------------------------------------------ Train tab, bad inputs

def tiny_plan(steps: int, modalities: list[str]) -> str:
    from omnivec_app import train_tab
    return json.dumps(train_tab.plan_from_knobs({"preset": "tiny", "steps": steps, "modalities": modalities,
                                                "stages": ["pretrain"]}))


def test_train_runs_in_the_background_one_at_a_time_and_stops(client, manager):
    with pytest.raises(Exception, match="no finished run"):
        client.predict(api_name="/train_load")
    status = client.predict(tiny_plan(20, ["image", "audio", "video"]), api_name="/train")
    assert "step" in status or "starting" in status
    with pytest.raises(Exception, match="already going"):
        client.predict(tiny_plan(20, ["image", "audio"]), api_name="/train")
    alive(client)  # other tabs answer while it trains
    assert "Stopping" in client.predict(api_name="/train_stop")  # at once: before the trainer has even started
    manager.run.process.wait(timeout=240)
    saved = json.loads((manager.run.out / "train_state.json").read_text())["step"]
    assert saved < 20, "Stop let the run go to its end"
    assert not (manager.run.out / STOP_FILE).exists(), "the stop request outlives its run"


BAD_UPLOADS = [
    ("image", "empty.png", mf.make_empty, "empty"),
    ("image", "noise.png", mf.make_random_bytes, "image"),
    ("video", "text.mp4", mf.make_text_file, "video"),
    ("image", "huge.png", mf.make_png_huge_header, "pixels"),
    ("audio", "nan.wav", mf.make_nan_wav, "nan"),
    ("audio", "silent.wav", mf.make_silent_wav, "silent"),
    ("audio", "short.wav", mf.make_short_wav, "short"),
    ("points", "inf.npy", mf.make_inf_npy, "inf"),
    ("points", "few.xyz", mf.make_few_points, "points"),
    ("points", "same.npy", mf.make_identical_points, "identical"),
    ("points", "program.exe", mf.make_random_bytes, "unsupported"),
    ("audio", "noise.wav", mf.make_random_bytes, "audio"),
    ("imu", "cloud.xyz", mf.make_xyz, "cannot be read from"),
    ("imu", "cloud.csv", lambda path: mf.make_xyz(path, delimiter=","), "needs 6"),
    ("imu", "blip.csv", lambda path: mf.make_imu_csv(path, seconds=0.05), "at least 10"),
]


@pytest.mark.parametrize("modality,name,maker,keyword", BAD_UPLOADS, ids=[b[1] for b in BAD_UPLOADS])
def test_bad_uploads_are_refused_clearly(client, files, modality, name, maker, keyword):
    path = maker(files["folder"] / name)
    with pytest.raises(Exception) as error:
        client.predict(modality, 0.5, "random", 0, 0, 0, handle_file(str(path)), api_name="/reconstruct")
    assert keyword in str(error.value).lower(), str(error.value)
    alive(client)


@pytest.mark.parametrize("name,maker,keyword", [("empty.png", mf.make_empty, "empty"),
                                                ("nan.wav", mf.make_nan_wav, "nan"),
                                                ("program.exe", mf.make_random_bytes, "unsupported")])
def test_caption_refuses_bad_uploads_clearly(client, files, name, maker, keyword):
    path = maker(files["folder"] / f"caption-{name}")
    with pytest.raises(Exception) as error:
        client.predict(handle_file(str(path)), 0, 0, "greedy", api_name="/caption")
    assert keyword in str(error.value).lower(), str(error.value)
    alive(client)


def test_truncated_and_pickled_files_are_refused(client, files):
    cases = [mf.make_truncated(files["png"], files["folder"] / "cut.png"),
             mf.make_truncated(files["mp4"], files["folder"] / "cut.mp4", keep=0.3),
             mf.make_truncated(files["wav"], files["folder"] / "cut.wav", keep=40),
             mf.make_pickle_npy(files["folder"] / "pickle.npy", files["folder"] / "marker")]
    for path in cases:
        with pytest.raises(Exception):
            client.predict(handle_file(str(path)), "", ["video"], 3, 50, api_name="/retrieve")
        alive(client)
    assert not (files["folder"] / "marker").exists(), "a pickle was loaded"


BAD_CALLS = [
    ("/retrieve", (None, "", ["video"], 3, 50), "empty"),
    ("/retrieve", (None, "   ", ["video"], 3, 50), "empty"),
    ("/retrieve", (None, "x" * 1000, ["video"], 3, 50), "long"),
    ("/retrieve", (None, "a red circle", [], 3, 50), "target"),
    ("/retrieve", (None, "a red circle", ["video"], 0, 50), "top-k|minimum"),
    ("/reconstruct", ("image", 0.99, "random", 0, 0, 0, None), "ratio|maximum"),
    ("/reconstruct", ("text", 0.5, "random", 0, 0, 0, None), "reconstruction|choices"),
    ("/reconstruct", ("image", 0.5, "frame", 0, 0, 0, None), "time axis"),
    ("/embedding_map", ("pca", 2, "modality", 5, 30, 15, 0.1, 0, 5), "between|minimum"),
    ("/activations", ("video", 99, 0, 0, 4), "layer|maximum"),
    ("/droptoken", (0.95, 0.0, False, 32), "between|maximum"),
    ("/sample", (0, -1), "between|minimum"),
    ("/looks", (0, 0, 20), "looks|between|maximum"),
    ("/caption", (None, 0, 0, "topk"), "decoding|choices"),
    ("/caption", (None, -5, 0, "greedy"), "between|minimum"),
    ("/embedding_map", ("kmeans", 2, "modality", 50, 30, 15, 0.1, 0, 5), "method|choices|kmeans"),
]


@pytest.mark.parametrize("api,args,keyword", BAD_CALLS, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_CALLS)])
def test_bad_parameters_get_clear_errors(client, api, args, keyword):
    with pytest.raises(Exception) as error:
        client.predict(*args, api_name=api)
    assert any(k in str(error.value).lower() for k in keyword.split("|")), str(error.value)
    alive(client)


def test_server_answers_quickly_after_the_bad_inputs(client):
    start = time.perf_counter()
    alive(client)
    assert time.perf_counter() - start < 30


@pytest.mark.fast  # no server: a unit test of the components
def test_pictures_and_sounds_are_cached_once_and_whole(tmp_path, monkeypatch):
    """Showing the same picture again must not rewrite the file a browser may still be reading."""
    import wave

    import numpy as np
    from PIL import Image

    from omnivec_app.components import StillAudio, StillImage
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    image, audio = StillImage(), StillAudio()
    image.GRADIO_CACHE = audio.GRADIO_CACHE = str(tmp_path)
    picture = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    first = image.postprocess(picture).path
    stamp = (tmp_path / first).stat().st_mtime_ns
    time.sleep(0.01)
    again = image.postprocess(picture.copy()).path
    assert again == first and (tmp_path / first).stat().st_mtime_ns == stamp
    assert np.array_equal(np.asarray(Image.open(first)), np.asarray(picture))
    assert image.postprocess(Image.new("RGB", (4, 4))).path != first
    samples = (np.sin(np.arange(1600) / 10) * 3000).astype(np.int16)
    sound = audio.postprocess((16000, samples)).path
    assert audio.postprocess((16000, samples.copy())).path == sound
    with wave.open(sound) as read:
        assert read.getframerate() == 16000
        assert np.array_equal(np.frombuffer(read.readframes(1600), "<i2"), samples)
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no staging files left behind


@pytest.mark.fast
@pytest.mark.parametrize("embed_space", ["fac", "shared", "disjoint"])
def test_train_tab_plans_load_back_in_every_embedding_space(embed_space):
    import gradio as gr

    from omnivec_app import train_tab
    from omnivec_core.config import MODALITIES, ExperimentConfig
    plan = train_tab.plan_from_knobs({"preset": "tiny", "steps": 100, "embed_space": embed_space})
    config = train_tab.read_plan(json.dumps(plan))
    assert ExperimentConfig.from_dict(config.to_dict()) == config == ExperimentConfig.from_dict(plan)
    assert config.model.time_profile == ("fine_and_coarse" if embed_space == "fac" else "none")
    without_video = [m for m in MODALITIES if m != "video"]
    if embed_space == "disjoint":  # refused when asked for, not at the run's first alignment step
        with pytest.raises(gr.Error, match="embed_space 'disjoint' pairs video with each other modality"):
            train_tab.plan_from_knobs({"preset": "tiny", "embed_space": embed_space, "modalities": without_video})


@pytest.mark.fast
def test_train_tab_defaults_run_the_lesson_preset_and_stages_follow_the_modalities(monkeypatch):
    import gradio as gr

    from omnivec_app import train_tab
    from omnivec_core.config import MODALITIES, ExperimentConfig
    config = ExperimentConfig.from_dict(train_tab.plan_from_knobs({}))
    classroom = train_tab.CLASSROOM
    assert config.train.stages == preset("lesson").train.stages and config.train.droptoken == classroom.droptoken
    assert config.model == preset("lesson").model and config.train.attribute_weights == classroom.attribute_weights
    for name in ("lesson", "tiny"):  # picking a preset sets the switches to its plan: Start trains that plan
        knobs = train_tab.preset_knobs(name)
        chosen = ExperimentConfig.from_dict(train_tab.plan_from_knobs(
            {"preset": name, **train_tab.named_knobs(list(knobs), list(knobs.values()))}))
        expected = preset(name)
        assert chosen.model == expected.model and chosen.train.stages == expected.train.stages
        assert (chosen.train.univlc, chosen.train.negative_captions, chosen.train.mask_ratio, chosen.train.droptoken) \
            == (expected.train.univlc, expected.train.negative_captions, expected.train.mask_ratio,
                expected.train.droptoken)

    def with_named_stages(name):  # a plan whose stages train some modalities only
        config = preset(name)
        config.train.stages[1:1] = [StageConfig("stills", 50, {"tasks": 1.0}, ["image"]),
                                    StageConfig("pairs", 50, {"contrastive": 1.0}, ["image", "video"])]
        return config
    monkeypatch.setattr(train_tab, "preset", with_named_stages)
    stages = [s.name for s in with_named_stages("tiny").train.stages]

    def kept(modalities, chosen):
        plan = train_tab.plan_from_knobs({"preset": "tiny", "steps": 400, "modalities": modalities, "stages": chosen})
        return ExperimentConfig.from_dict(plan).train.stages
    named = {s.name: s.modalities for s in kept(list(MODALITIES), stages)}
    assert named["stills"] == ["image"] and named["pairs"] == ["image", "video"]
    without_image = [m for m in MODALITIES if m != "image"]
    names = [s.name for s in kept(without_image, [n for n in stages if n != "pairs"])]
    assert "stills" not in names and "align" in names
    with pytest.raises(gr.Error, match="none of the chosen stages"):
        kept(without_image, ["stills"])
    only_pairs = json.dumps(train_tab.plan_from_knobs({"preset": "tiny", "steps": 100, "modalities": without_image,
                                                      "stages": ["pairs"]}))
    with pytest.raises(gr.Error, match="'pairs': the contrastive objective needs"):
        train_tab.read_plan(only_pairs)


@pytest.mark.fast
def test_train_tab_reaches_every_switch_and_shows_the_command_line(tmp_path):
    import gradio as gr

    from omnivec_app import train_tab
    from omnivec_core.config import ExperimentConfig
    switches = {"preset": "tiny", "steps": 100, "backbone": "specific", "attention": "divided", "univlc": True, "pairs": True,
                "momentum_queue": 64,
                "captions_per_clip": 5, "negative_captions": 2, "task_grouping": True, "modality_mixing": True,
                "mask_ratio": {"image": 0.9, "video": 0.95, "audio": 0.6, "depth": 0.5, "points": 0.4, "imu": 0.3},
                "mask_type": {"video": "frame", "audio": "causal", "imu": "frame"},
                "droptoken": {"video": 0.25, "audio": 0.3, "imu": 0.0}}
    plan = train_tab.plan_from_knobs(switches)
    config = train_tab.read_plan(json.dumps(plan))
    assert config.train.mask_ratio == {**train_tab.CLASSROOM.mask_ratio, **switches["mask_ratio"]}
    assert [config.train.mask_type[m] for m in ("video", "audio", "imu")] == ["frame", "causal", "frame"]
    assert (config.model.backbone, config.model.attention, config.train.univlc) == ("specific", "divided", True)
    assert (config.train.captions_per_event, config.train.negative_captions, config.train.momentum_queue) == (5, 2, 64)
    assert config.train.droptoken == {"video": 0.25, "audio": 0.3}
    with pytest.raises(gr.Error, match="momentum_queue .* needs univlc"):
        train_tab.read_plan(json.dumps(train_tab.plan_from_knobs({**switches, "univlc": False})))
    assert all(s.objectives.get("pairs") == s.objectives["contrastive"]
               for s in config.train.stages if "contrastive" in s.objectives)
    assert not any("pairs" in s.objectives for s in ExperimentConfig.from_dict(train_tab.plan_from_knobs({})).train.stages)
    with pytest.raises(gr.Error, match="the pairs objective"):
        train_tab.read_plan(json.dumps(train_tab.plan_from_knobs({**switches, "embed_space": "disjoint"})))
    with pytest.raises(gr.Error, match="mask_type"):
        train_tab.read_plan(json.dumps(train_tab.plan_from_knobs({**switches, "mask_type": {"video": "checkerboard"}})))
    with pytest.raises(gr.Error, match="cannot train on"):
        train_tab.plan_from_knobs({**switches, "folder": str(tmp_path / "missing")})
    with pytest.raises(gr.Error, match="captions_per_event must be 1..10"):
        train_tab.read_plan(json.dumps(train_tab.plan_from_knobs({**switches, "captions_per_clip": 0})))
    with pytest.raises(gr.Error, match="not valid JSON"):
        train_tab.read_plan("{'model': 1}")
    shown = train_tab.command_line(json.dumps(plan))
    assert "python -m omnivec_core.train --config plan.json --out runs/my-run" in shown
    written = json.loads(shown.split("```json\n")[1].split("\n```")[0])
    assert ExperimentConfig.from_dict(written) == config, "the file the command runs is the plan the switches describe"


@pytest.mark.fast
def test_train_tab_builds_a_switch_per_modality_from_the_registry():
    from omnivec_app import train_tab
    from omnivec_core.modalities import REGISTRY
    assert set(train_tab.MASKED) == {m for m, spec in REGISTRY.items() if spec.reconstruct}
    assert set(train_tab.TIMED) <= set(train_tab.MASKED) and "video" in train_tab.TIMED
    knobs = train_tab.named_knobs(["steps", "mask_ratio:image", "mask_ratio:audio", "droptoken:video"], [50, 0.5, 0.6, 0.2])
    assert knobs == {"steps": 50, "mask_ratio": {"image": 0.5, "audio": 0.6}, "droptoken": {"video": 0.2}}


def test_train_command_reaches_the_client(client):
    from omnivec_app import train_tab
    plan = train_tab.plan_from_knobs({"preset": "tiny", "steps": 50, "modalities": ["image", "video", "audio"],
                                      "stages": ["pretrain"]})
    shown = client.predict(json.dumps(plan), api_name="/train_command")
    assert "--config plan.json" in shown and '"modalities"' in shown
    with pytest.raises(Exception, match="not valid JSON"):
        client.predict("{oops", api_name="/train_command")


# ------------------------------------------------------------------ Papers tab

def test_papers_table(client, tmp_path, monkeypatch):
    from omnivec_core.lab import TABLES
    from omnivec_core.lab.report import write_results
    from omnivec_core.lab.runner import assemble, budget

    seeds = {"specific": [0.50, 0.52], "agnostic": [0.49, 0.47]}
    results = {"backbone": {name: [{"train_seed": seed, "metrics": {"downstream": v, "backbone params (M)": 4.0
                                                                    if name == "specific" else 1.0}}
                                   for seed, v in enumerate(values)] for name, values in seeds.items()}}
    write_results(tmp_path, assemble(TABLES["vatt-backbone"], results, {
        "command": "python -m omnivec_core.lab vatt-backbone", "date": "2025-01-02T03:04:05+00:00", "device": "cpu",
        "budget": {**budget("micro", 60, 256), "seeds": 2}}))
    monkeypatch.setenv("OMNIVEC_PAPERS", str(tmp_path))  # read at call time, by the server in this process
    markdown, figure = client.predict("vatt-backbone", api_name="/papers_table")
    assert "Produced by `python -m omnivec_core.lab vatt-backbone` on 2025-01-02" in markdown and "VATT" in markdown
    assert "| specific | one transformer per modality | 2 | 0.510 ± 0.014 |" in markdown, markdown
    assert "**The paper's figures**" in markdown and "holds" in markdown
    ours, paper = plot(figure)["data"]
    assert ours["type"] == paper["type"] == "bar" and list(ours["x"]) == ["specific", "agnostic"], "a bar per row"
    markdown, figure = client.predict("omnivl-paradigms", api_name="/papers_table")
    assert figure is None and "Not yet run" in markdown and "python -m omnivec_core.lab omnivl-paradigms" in markdown
    with pytest.raises(Exception, match="no-such-table"):  # the dropdown refuses it: not one of the tables
        client.predict("no-such-table", api_name="/papers_table")


# ------------------------------------------------------------------ Compare tab

def test_compare_models_side_by_side(client, state, tmp_path):
    config = preset("tiny")
    config.model.modalities = ("image", "video", "text")
    config.train.batch_size = 8
    config.train.stages = [StageConfig("smoke", 2, {"contrastive": 1.0})]
    Trainer(config, tmp_path / "other", "cpu").run()
    note, map_a, map_b, pairs_a, pairs_b = client.predict(str(state.checkpoint), str(tmp_path / "other"), 50, "pca",
                                                          "shape", 3, api_name="/compare_models")
    assert "| metric | A: model | B: other | B − A |" in note and "gallery: mean attribute P@1 over pairs" in note
    assert "not turned onto A's" in note, "different modalities: no alignment claimed"
    colours = [{t["name"]: t["marker"]["color"] for t in plot(f)["data"] if "marker" in t and t["name"] in
                ATTRIBUTES["shape"]} for f in (map_a, map_b)]
    shared = colours[0].keys() & colours[1].keys()
    assert shared and all(colours[0][k] == colours[1][k] for k in shared), "a shape has one colour on both maps"
    assert any(t["name"] == "event 3" for t in plot(map_b)["data"]), "the chosen event is ringed"
    heat = [t for t in plot(pairs_b)["data"] if t["type"] == "heatmap"]
    assert len(heat) == 2 and list(heat[0]["x"]) == ["image", "video", "text"]
    with pytest.raises(Exception, match="not a model directory"):
        client.predict(str(state.checkpoint), str(tmp_path), 50, "pca", "shape", 0, api_name="/compare_models")
    alive(client)
