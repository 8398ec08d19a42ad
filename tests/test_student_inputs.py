"""A student's own inputs through gradio_client: a drawing (an ImageEditor value, or a PNG drawn with PIL on
white), a webcam-style photo and a microphone-style WAV query /retrieve and /caption as extra parameters and
give results with an out-of-world score; an empty drawing, a silent or NaN recording get a clear message; the
out-of-world reference is built once however many queries come."""
from __future__ import annotations

import re

import numpy as np
import pytest
from gradio_client import Client, handle_file
from PIL import Image, ImageDraw

from bench import media_factory as mf
from test_app import client, manager, state  # noqa: F401 - the app tests' tiny model with OmniVL's decoders, served
from omnivec_core.analysis import out_of_world
from omnivec_core.modalities import CAPTIONS

pytestmark = pytest.mark.app
TARGETS = ["video", "audio", "image", "text"]
SCORE = re.compile(r"- \*\*(\w+)\*\*: out-of-world score \*\*([0-9.]+)\*\*: (this [^(]+)\(")


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    triangle = Image.new("RGB", (512, 512), "white")  # a red triangle drawn on the white canvas
    ImageDraw.Draw(triangle).polygon([(256, 90), (420, 400), (92, 400)], fill=(235, 41, 36))
    triangle.save(folder / "sketch.png")
    Image.new("RGBA", (512, 512), (0, 0, 0, 0)).save(folder / "empty.png")  # an untouched canvas: transparent
    photo = np.random.default_rng(0).integers(0, 255, (480, 640, 3)).astype(np.uint8)  # a webcam's noisy frame
    photo[120:360, 200:440] = (40, 90, 230)
    Image.fromarray(photo).save(folder / "webcam.jpg", quality=85)
    mf.make_wav(folder / "microphone.wav", seconds=1.5, sr=48000)
    mf.make_spoken_wav(folder / "spoken.wav", "a red triangle")
    mf.make_silent_wav(folder / "silent.wav")
    mf.make_nan_wav(folder / "nan.wav")
    return folder


def editor(path) -> dict:
    """What the Sketchpad sends: background, layers and the composite of both."""
    return {"background": None, "layers": [], "composite": handle_file(str(path))}


def retrieve(client, sketch=None, webcam=None, microphone=None, upload=None, text=""):
    return client.predict(upload, text, TARGETS, 3, 50, "OmniShapes held-out events", "", sketch, webcam, microphone,
                          api_name="/retrieve")


def scores(markdown: str) -> dict[str, tuple[float, str]]:
    """modality -> (out-of-world score, its words), as the Markdown shows them."""
    found = {m: (float(s), words.strip()) for m, s, words in SCORE.findall(markdown)}
    assert found, f"no out-of-world score in {markdown!r:.400}"
    for score, words in found.values():
        assert 0 <= score <= 1 and words in out_of_world.WORDS, (score, words)
    return found


def check_results(out, modality: str) -> None:
    note, hits, *_, table = out[:6]
    assert note.split("\n")[0] == f"Query: {modality}", note
    assert set(scores(note)) == {modality}
    rows = [r for r in table.split("\n")[2:] if r.startswith("|")]
    assert [r.split("|")[1].strip() for r in rows] == [t for t in TARGETS for _ in range(3)]
    assert len(hits) == 3 * len([t for t in TARGETS if t not in ("audio", CAPTIONS)])


def test_a_sketch_retrieves(client, media):
    out = retrieve(client, sketch=editor(media / "sketch.png"))
    check_results(out, "image")
    assert "the query is your sketch" in out[0]


def test_a_webcam_snapshot_retrieves(client, media):
    out = retrieve(client, webcam=handle_file(str(media / "webcam.jpg")))
    check_results(out, "image")
    assert "the query is your webcam snapshot" in out[0]


@pytest.mark.parametrize("name", ["microphone.wav", "spoken.wav"])
def test_a_recording_retrieves(client, media, name):
    out = retrieve(client, microphone=handle_file(str(media / name)))
    check_results(out, "audio")
    assert "the query is your recording" in out[0]


def test_the_first_input_given_is_the_query_and_the_others_are_named(client, media):
    out = retrieve(client, sketch=editor(media / "empty.png"), webcam=handle_file(str(media / "webcam.jpg")),
                   microphone=handle_file(str(media / "microphone.wav")))
    check_results(out, "image")  # the empty sketch is passed over: the snapshot queries
    assert "the query is your webcam snapshot" in out[0] and "not used (one input at a time): your recording" in out[0]
    out = retrieve(client, sketch=editor(media / "empty.png"), text="a small red circle bouncing")
    check_results(out, CAPTIONS)


def test_existing_callers_keep_their_parameters(client, media):
    out = client.predict(handle_file(str(media / "sketch.png")), "", TARGETS, 3, 50, api_name="/retrieve")
    check_results(out, "image")
    assert "the query is" not in out[0], "an uploaded file needs no word on which input queried"


@pytest.mark.parametrize("kwargs,keyword", [
    ({"sketch": "empty.png"}, "your sketch is empty"),
    ({"microphone": "silent.wav"}, "your recording: .*silent"),
    ({"microphone": "nan.wav"}, "your recording: .*nan"),
])
def test_bad_own_inputs_get_a_clear_message(client, media, kwargs, keyword):
    (name, file), = kwargs.items()
    value = editor(media / file) if name == "sketch" else handle_file(str(media / file))
    for api in ("/retrieve", "/caption"):
        with pytest.raises(Exception) as error:
            if api == "/retrieve":
                retrieve(client, **{name: value})
            else:
                client.predict(None, 0, 0, "greedy", *caption_args(name, value), api_name="/caption")
        assert re.search(keyword, str(error.value).lower()), str(error.value)
    assert client.predict(0, 1, api_name="/sample"), "the server still answers"


def caption_args(name: str, value) -> list:
    return [value if name == n else None for n in ("sketch", "webcam", "microphone")]


@pytest.mark.parametrize("name,file,modality", [("sketch", "sketch.png", "image"), ("webcam", "webcam.jpg", "image"),
                                                ("microphone", "spoken.wav", "audio")])
def test_own_inputs_are_captioned_with_their_score(client, media, name, file, modality):
    value = editor(media / file) if name == "sketch" else handle_file(str(media / file))
    said = client.predict(None, 0, 0, "greedy", *caption_args(name, value), api_name="/caption")
    assert f"**{modality}**" in said and "the model says" in said, said
    assert set(scores(said)) == {modality}


def test_uploads_get_a_score_in_caption_and_an_event_none(client, media):
    said = client.predict(handle_file(str(media / "microphone.wav")), 0, 0, "greedy", api_name="/caption")
    assert set(scores(said)) == {"audio"}
    said = client.predict(None, 0, 0, "greedy", api_name="/caption")
    assert said.startswith("**The event:**") and "out-of-world" not in said


def test_the_reference_is_built_once(client, state, media, monkeypatch):
    built = []
    original = out_of_world.build_reference
    monkeypatch.setattr(out_of_world, "build_reference", lambda *a, **k: built.append(a[1]) or original(*a, **k))
    state.familiar = None  # start counting from nothing
    for _ in range(2):
        retrieve(client, text="a large blue square spinning")
        client.predict(handle_file(str(media / "sketch.png")), 0, 0, "greedy", api_name="/caption")
    assert sorted(built) == sorted(state.model.cfg.modalities), "one reference per modality, built once"
    assert state.out_of_world() is state.out_of_world()
