"""End to end through gradio_client: every api_name with real files, and a bad-input suite after
which the server must still answer."""
from __future__ import annotations

import socket
import time

import pytest
from gradio_client import Client, handle_file

import media_factory as mf
from app.main import build_app
from app.training import TrainingManager
from launch import build_state
from omnivec_core.config import StageConfig, preset
from omnivec_core.train.trainer import Trainer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    return {
        "png": mf.make_png(folder / "picture.png"),
        "wav": mf.make_wav(folder / "tone.wav"),
        "mp4": mf.make_mp4_with_aac(folder / "clip.mp4", seconds=2.0),
        "ply": mf.make_ply(folder / "cloud.ply"),
        "folder": folder,
    }


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    config = preset("tiny")
    config.train.batch_size = 8
    config.train.stages = [StageConfig("smoke", 2, {"mae": 1.0, "contrastive": 1.0})]
    Trainer(config, root / "model", "cpu").run()
    demo = build_app(build_state(root / "model", "cpu"), TrainingManager(root / "runs"))
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    demo.close()


def alive(client: Client) -> None:
    result = client.predict(0, 1, api_name="/sample")
    assert "moving" in result[-1] or "spinning" in result[-1] or "bouncing" in result[-1] or "growing" in result[-1] \
        or "shrinking" in result[-1]


def test_sample(client):
    image, video, audio, spectrogram, depth, points, text = client.predict(3, 7, api_name="/sample")
    assert image.endswith((".png", ".webp")) and video.endswith(".gif") and audio
    assert text.count("•") == 3


@pytest.mark.parametrize("modality", ["image", "video", "audio", "depth", "points"])
def test_reconstruct_each_modality(client, modality):
    out = client.predict(modality, 0.75, "random", 0, 5, 0, None, api_name="/reconstruct")
    report = out[-1]
    assert ("PSNR" in report) if modality != "points" else ("Chamfer" in report)
    if modality == "audio":
        assert out[8] and out[9], "both audio clips are returned"


@pytest.mark.parametrize("kind,modality", [("png", "image"), ("mp4", "video"), ("wav", "audio"), ("ply", "points"),
                                           ("mp4", "audio")])
def test_reconstruct_uploads(client, files, kind, modality):
    report = client.predict(modality, 0.5, "random", 0, 0, 0, handle_file(str(files[kind])), api_name="/reconstruct")[-1]
    assert "hidden" in report


def test_reconstruct_sweep(client):
    figure = client.predict("image", 0.75, "random", 0, 0, 0, None, api_name="/reconstruct_sweep")
    assert figure


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_embedding_map(client, method):
    shared, stems, report = client.predict(method, 2, "shape", 50, 10, 10, 0.1, 0, 5, api_name="/embedding_map")
    assert shared and stems and "neighbours" in report


@pytest.mark.parametrize("modality", ["video", "audio", "text", "points"])
def test_activations(client, modality):
    overview, norms, attention = client.predict(modality, 2, 0, 0, 4, api_name="/activations")
    assert overview and norms and attention


@pytest.mark.parametrize("kind", ["mp4", "wav", "png", "ply", None])
def test_retrieve(client, files, kind):
    upload = handle_file(str(files[kind])) if kind else None
    out = client.predict(upload, "a small red circle bouncing", ["video", "audio", "text", "points", "image", "depth"],
                         3, 50, api_name="/retrieve")
    note, hits, table = out[0], out[1], out[5]
    assert note.startswith("Query:") and table.count("\n") >= 2 + 6 * 3 - 1
    assert len(hits) == 3 * 4  # image, video, depth and points hits have previews
    if kind == "mp4":
        assert "video + audio" in note, "a clip queries with its frames and its sound track"


def test_droptoken(client):
    table, figure = client.predict(0.5, 0.25, True, 32, api_name="/droptoken")
    assert table.count("(curve)") == 4 and figure


def test_train_runs_in_the_background_one_at_a_time(client):
    status = client.predict("tiny", 20, ["image", "audio", "video"], ["pretrain"], 0.75, 0.9, 0.0, "fac", True, True,
                            api_name="/train")
    assert "step" in status or "starting" in status
    with pytest.raises(Exception, match="already going"):
        client.predict("tiny", 20, ["image", "audio"], ["pretrain"], 0.75, 0.9, 0.0, "fac", True, True,
                       api_name="/train")
    alive(client)  # other tabs answer while it trains
    assert "Stopping" in client.predict(api_name="/train_stop")


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
]


@pytest.mark.parametrize("modality,name,maker,keyword", BAD_UPLOADS, ids=[b[1] for b in BAD_UPLOADS])
def test_bad_uploads_are_refused_clearly(client, files, modality, name, maker, keyword):
    path = maker(files["folder"] / name)
    with pytest.raises(Exception) as error:
        client.predict(modality, 0.5, "random", 0, 0, 0, handle_file(str(path)), api_name="/reconstruct")
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


def test_pictures_and_sounds_are_cached_once_and_whole(tmp_path, monkeypatch):
    """Showing the same picture again must not rewrite the file a browser may still be reading."""
    import wave

    import numpy as np
    from PIL import Image

    from app.components import StillAudio, StillImage
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


@pytest.mark.parametrize("embed_space", ["fac", "shared", "disjoint"])
def test_train_tab_configs_load_back_in_every_embedding_space(embed_space):
    from app import train_tab
    from omnivec_core.config import MODALITIES, ExperimentConfig
    classroom = train_tab.CLASSROOM
    config = train_tab.build_config("tiny", 100, list(MODALITIES), list(train_tab.STAGES), 0.75, 0.9, 0.5,
                                    embed_space, classroom.task_grouping, classroom.modality_mixing)
    assert ExperimentConfig.from_dict(config.to_dict()) == config  # what the run will save loads back
    assert config.model.fine_time_profile == (embed_space == "fac")


def test_train_tab_defaults_run_the_tiny_preset_and_stages_follow_the_modalities(monkeypatch):
    import gradio as gr

    from app import train_tab
    from omnivec_core.config import MODALITIES
    classroom = train_tab.CLASSROOM
    knobs = dict(image_ratio=classroom.mask_ratio["image"], video_ratio=classroom.mask_ratio["video"],
                 droptoken=classroom.droptoken.get("video", 0.0), embed_space="fac",
                 task_grouping=classroom.task_grouping, modality_mixing=classroom.modality_mixing)
    config = train_tab.build_config("tiny", classroom.total_steps, list(MODALITIES), list(train_tab.STAGES), **knobs)
    assert config.train.stages == preset("tiny").train.stages and config.train.droptoken == classroom.droptoken
    assert config.model == preset("tiny").model and config.train.attribute_weights == classroom.attribute_weights

    def with_named_stages(name):  # a plan whose stages train some modalities only
        config = preset(name)
        config.train.stages[1:1] = [StageConfig("stills", 50, {"tasks": 1.0}, ["image"]),
                                    StageConfig("pairs", 50, {"contrastive": 1.0}, ["image", "video"])]
        return config
    monkeypatch.setattr(train_tab, "preset", with_named_stages)
    stages = [s.name for s in with_named_stages("tiny").train.stages]
    kept = train_tab.build_config("tiny", 400, list(MODALITIES), stages, **knobs).train.stages
    named = {s.name: s.modalities for s in kept}
    assert named["stills"] == ["image"] and named["pairs"] == ["image", "video"]
    without_image = [m for m in MODALITIES if m != "image"]
    kept = train_tab.build_config("tiny", 400, without_image, [n for n in stages if n != "pairs"], **knobs).train.stages
    assert "stills" not in [s.name for s in kept] and "align" in [s.name for s in kept]
    with pytest.raises(gr.Error, match="none of the chosen stages"):
        train_tab.build_config("tiny", 100, without_image, ["stills"], **knobs)
    with pytest.raises(gr.Error, match="'pairs': the contrastive objective needs"):
        train_tab.build_config("tiny", 100, without_image, ["pairs"], **knobs)
