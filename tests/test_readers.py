"""Media readers: good files give the exact model inputs; bad files give a clear MediaError."""
from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from bench import media_factory as mf
from omnivec_core.data import readers as R
from omnivec_core.data.readers import (LIMITS, Loaded, MediaError, ReaderLimits, audio_to_model, check_path,
                                       read_any, read_audio, read_image, read_points, read_text, read_video)
from omnivec_core.data.readers import audio as audio_mod
from omnivec_core.data.readers import common as common_mod
from omnivec_core.data.readers import video as video_mod


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("media")
    mf.make_png(d / "pic.png")
    mf.make_jpg(d / "pic.jpg")
    mf.make_wav(d / "mono.wav")
    mf.make_wav(d / "stereo.wav", seconds=3.0, sr=44100, channels=2)
    mf.make_wav(d / "half.wav", seconds=0.5)
    mf.make_wav(d / "quiet.wav", amplitude=0.001)
    mf.make_mp4_with_aac(d / "clip.mp4")
    mf.make_mp4_with_aac(d / "mute.mp4", audio=False)
    mf.make_m4a(d / "tone.m4a")
    mf.make_ply(d / "cloud.ply")
    mf.make_obj_mesh(d / "box.obj")
    mf.make_xyz(d / "cloud.xyz")
    mf.make_xyz(d / "cloud.csv", delimiter=",", header="x,y,z")
    mf.make_npy(d / "cloud.npy")
    return d


def _check_image(t):
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.shape == (3, 64, 64)
    assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0 and float(t.std()) > 0.05


def _check_wave(w):
    assert isinstance(w, torch.Tensor) and w.dtype == torch.float32 and w.shape == (16000,)
    assert torch.isfinite(w).all() and float(w.abs().max()) == pytest.approx(0.9, abs=1e-5)


def _check_points(t):
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.shape == (1024, 3)
    assert torch.allclose(t.mean(0), torch.zeros(3), atol=1e-5)
    assert float(t.norm(dim=1).max()) == pytest.approx(1.0, abs=1e-5)


def _dominant_hz(w: torch.Tensor, sr: int = 16000) -> float:
    spec = np.abs(np.fft.rfft(w.numpy() * np.hanning(len(w))))
    return float(np.fft.rfftfreq(len(w), 1 / sr)[spec.argmax()])


# ---------------------------------------------------------------- good inputs

@pytest.mark.parametrize("name", ["pic.png", "pic.jpg"])
def test_image(media, name):
    out = read_image(media / name)
    assert isinstance(out, Loaded) and out.kind == "image" and out.waveform is None and out.name == name
    _check_image(out.tensor)
    r, g, b = out.tensor[:, 32, 32].tolist()  # the red square sits in the centre
    assert r > 0.75 and g < 0.3 and b < 0.3
    assert any("centre-cropped" in n for n in out.notes)


def test_audio_mono(media):
    out = read_audio(media / "mono.wav")
    assert out.kind == "audio" and out.waveform is out.tensor
    _check_wave(out.tensor)
    assert _dominant_hz(out.tensor) == pytest.approx(440, abs=5)
    mel = audio_to_model(out.tensor)
    assert mel.shape == (1, 64, 64) and mel.dtype == torch.float32 and torch.isfinite(mel).all()


def test_audio_stereo_resampled(media):
    out = read_audio(media / "stereo.wav")
    _check_wave(out.tensor)
    assert _dominant_hz(out.tensor) == pytest.approx(440, abs=5)  # pitch survives 44.1k -> 16k
    text = " | ".join(out.notes)
    assert "resampled from 44100 Hz" in text and "mixed down to mono" in text and "first 1.0 s" in text


def test_audio_short_is_padded_and_quiet_is_normalised(media):
    out = read_audio(media / "half.wav")
    _check_wave(out.tensor)
    assert float(out.tensor[8100:].abs().max()) == 0.0 and any("padded" in n for n in out.notes)
    _check_wave(read_audio(media / "quiet.wav").tensor)


def test_video_with_aac(media):
    out = read_video(media / "clip.mp4")
    v = out.tensor
    assert out.kind == "video" and v.dtype == torch.float32 and v.shape == (8, 3, 64, 64)
    assert 0.0 <= float(v.min()) and float(v.max()) <= 1.0
    assert float((v[0] - v[4]).abs().max()) > 0.3  # the square moves
    _check_wave(out.waveform)
    assert _dominant_hz(out.waveform) == pytest.approx(440, abs=5)
    text = " | ".join(out.notes)
    assert "decoded with decord" in text and "clip is 2.0 s long; using its first 1.0 s" in text
    assert "audio track" in text


def test_video_pyav_fallback_matches_decord(media, monkeypatch):
    ref = read_video(media / "clip.mp4").tensor

    def refuse(*a, **k):
        raise RuntimeError("decord cannot open this")

    monkeypatch.setattr(video_mod, "_frames_decord", refuse)
    out = read_video(media / "clip.mp4")
    assert any("decoded with PyAV" in n for n in out.notes)
    assert torch.allclose(out.tensor, ref, atol=2 / 255)


def test_video_without_audio(media):
    out = read_video(media / "mute.mp4")
    assert out.tensor.shape == (8, 3, 64, 64) and out.waveform is None
    assert "no audio track" in out.notes


def test_audio_from_video_and_m4a(media):
    _check_wave(read_audio(media / "clip.mp4").tensor)
    out = read_audio(media / "tone.m4a")
    _check_wave(out.tensor)
    assert any("PyAV" in n for n in out.notes)


@pytest.mark.parametrize("name", ["cloud.ply", "box.obj", "cloud.xyz", "cloud.csv", "cloud.npy"])
def test_points(media, name):
    out = read_points(media / name)
    assert out.kind == "points"
    _check_points(out.tensor)
    assert torch.equal(out.tensor, read_points(media / name).tensor)  # seeded: same every time
    if name == "box.obj":  # sampled from the surface, not just the 8 corners
        assert len(torch.unique(out.tensor, dim=0)) > 900
        assert any("sampled from its surface" in n for n in out.notes)


def test_points_large_cloud(tmp_path):
    np.save(tmp_path / "big.npy", np.random.default_rng(0).normal(size=(40000, 4)).astype(np.float32))
    out = read_points(tmp_path / "big.npy")
    _check_points(out.tensor)
    assert any("farthest-point" in n for n in out.notes)


def test_text():
    out = read_text("  A red\tcircle \n moves   left ")
    assert out.kind == "text" and out.tensor == "A red circle moves left" and out.waveform is None
    assert read_text("x" * 200).tensor == "x" * 200


def test_check_path_inside(tmp_path):
    f = mf.make_png(tmp_path / "a.png")
    assert check_path(f, [tmp_path]) == f.resolve()
    assert read_any(f, allowed_roots=[tmp_path]).kind == "image"


@pytest.mark.parametrize("name,kind", [("pic.png", "image"), ("pic.jpg", "image"), ("mono.wav", "audio"),
                                       ("clip.mp4", "video"), ("tone.m4a", "audio"), ("cloud.ply", "points"),
                                       ("box.obj", "points"), ("cloud.npy", "points"), ("cloud.xyz", "points")])
def test_read_any_dispatch(media, name, kind):
    assert read_any(media / name).kind == kind
    assert R.kind_of(media / name) == kind


def test_read_any_content_wins(tmp_path, media):
    wav_as_mp4 = mf.make_wav(tmp_path / "song.mp4")
    out = read_any(wav_as_mp4)
    assert out.kind == "audio" and "contains WAV audio" in out.notes[0]
    m4a_as_mp4 = tmp_path / "voice.mp4"
    m4a_as_mp4.write_bytes((media / "tone.m4a").read_bytes())
    out = read_any(m4a_as_mp4)
    assert out.kind == "audio" and any("no video stream" in n for n in out.notes)
    png_as_jpg = tmp_path / "x.jpg"
    png_as_jpg.write_bytes((media / "pic.png").read_bytes())
    assert read_any(png_as_jpg).kind == "image"
    png_as_wav = tmp_path / "x.wav"
    png_as_wav.write_bytes((media / "pic.png").read_bytes())
    out = read_any(png_as_wav)
    assert out.kind == "image" and "contains a PNG image" in out.notes[0]
    with pytest.raises(MediaError, match="wrong content"):
        read_any(mf.make_text_file(tmp_path / "notes.png"))


# ---------------------------------------------------------------- bad inputs

def _symlink_out(d: Path):
    outside = d / "outside"
    outside.mkdir()
    target = mf.make_png(outside / "secret.png")
    root = d / "root"
    root.mkdir()
    (root / "link.png").symlink_to(target)
    return read_image(root / "link.png", allowed_roots=[root])


def _dotdot_out(d: Path):
    mf.make_png(d / "secret.png")
    (d / "root").mkdir()
    return read_any(d / "root" / ".." / "secret.png", allowed_roots=[d / "root"])


def _timeout_audio(d: Path, monkeypatch):
    monkeypatch.setattr(audio_mod, "_decode_soundfile", lambda *a: time.sleep(1.0))
    return read_audio(mf.make_wav(d / "slow.wav"), replace(LIMITS, decode_timeout_s=0.1))


def _timeout_video(d: Path, monkeypatch, media):
    monkeypatch.setattr(video_mod, "_probe", lambda *a: time.sleep(1.0))
    return read_video(media / "clip.mp4", replace(LIMITS, decode_timeout_s=0.1))


BAD = {  # id: (action(tmp_dir, monkeypatch, media), message pattern)
    "empty file": (lambda d, m, md: read_image(mf.make_empty(d / "e.png")), r"e\.png is empty"),
    "random bytes png": (lambda d, m, md: read_image(mf.make_random_bytes(d / "r.png")), r"not a readable image"),
    "text named mp4": (lambda d, m, md: read_video(mf.make_text_file(d / "t.mp4")), r"wrong content.*text"),
    "wav named mp4": (lambda d, m, md: read_video(mf.make_wav(d / "w.mp4")), r"wrong content.*WAV audio"),
    "html named jpg": (lambda d, m, md: read_image(mf.make_text_file(d / "h.jpg", "<html><body>hi</body></html>")),
                       r"wrong content.*HTML"),
    "png named mp4": (lambda d, m, md: read_video(mf.make_png(d / "p.mp4")), r"wrong content.*PNG image"),
    "truncated png": (lambda d, m, md: read_image(mf.make_truncated(mf.make_png(d / "n.png", noise=True),
                                                                    d / "tp.png", 0.5)), r"truncated"),
    "truncated mp4": (lambda d, m, md: read_video(mf.make_truncated(md / "clip.mp4", d / "tc.mp4", 0.5)),
                      r"truncated"),
    "truncated wav header": (lambda d, m, md: read_audio(mf.make_truncated(md / "mono.wav", d / "tw.wav", 30)),
                             r"tw\.wav is not readable audio: the file is corrupt, truncated"),
    "truncated wav data": (lambda d, m, md: read_audio(mf.make_truncated(md / "mono.wav", d / "tw2.wav", 2000)),
                           r"too short"),
    "random bytes wav": (lambda d, m, md: read_audio(mf.make_random_bytes(d / "r.wav")), r"corrupt"),
    "huge declared dims": (lambda d, m, md: read_image(mf.make_png_huge_header(d / "bomb.png")),
                           r"dimensions.*too large"),
    "dims over max_pixels": (lambda d, m, md: read_image(mf.make_png_huge_header(d / "big.png", 7000, 7000)),
                             r"dimensions 7000x7000 are too large"),
    "oversized file": (lambda d, m, md: read_image(mf.make_png(d / "big.png", noise=True), ReaderLimits(max_bytes=1000)),
                       r"too large"),
    "nan wav": (lambda d, m, md: read_audio(mf.make_nan_wav(d / "nan.wav")), r"NaN"),
    "silent wav": (lambda d, m, md: read_audio(mf.make_silent_wav(d / "s.wav")), r"silent"),
    "0.01 s wav": (lambda d, m, md: read_audio(mf.make_short_wav(d / "short.wav")), r"too short"),
    "inf in npy": (lambda d, m, md: read_points(mf.make_inf_npy(d / "inf.npy")), r"NaN or infinite"),
    "too few points": (lambda d, m, md: read_points(mf.make_few_points(d / "few.xyz")), r"too few points"),
    "identical points": (lambda d, m, md: read_points(mf.make_identical_points(d / "same.npy")), r"identical"),
    "too many points": (lambda d, m, md: read_points(md / "cloud.npy", replace(LIMITS, max_points=100)),
                        r"too many points"),
    "npy wrong shape": (lambda d, m, md: np.save(d / "flat.npy", np.zeros((50, 2))) or read_points(d / "flat.npy"),
                        r"expected an \(N, 3\) array"),
    "truncated npy": (lambda d, m, md: read_points(mf.make_truncated(md / "cloud.npy", d / "t.npy", 0.5)),
                      r"not a readable \.npy array \(truncated"),
    "random bytes ply": (lambda d, m, md: read_points(mf.make_random_bytes(d / "r.ply")), r"not a readable PLY"),
    "text csv": (lambda d, m, md: read_points(mf.make_text_file(d / "words.csv")), r"table of numbers"),
    "unsupported extension": (lambda d, m, md: read_any(mf.make_random_bytes(d / "setup.exe")),
                              r"unsupported file type '\.exe'; supported: .*\.png"),
    "directory": (lambda d, m, md: read_any(d), r"is a folder"),
    "fifo (would block)": (lambda d, m, md: os.mkfifo(d / "pipe.wav") or read_audio(d / "pipe.wav"),
                           r"pipe\.wav is not a regular file"),
    "missing file": (lambda d, m, md: read_image(d / "nope.png"), r"nope\.png: file not found"),
    "not a path": (lambda d, m, md: read_image(1234), r"expected a file path"),
    "outside roots": (lambda d, m, md: read_any(md / "pic.png", allowed_roots=[d]), r"outside the folders"),
    "outside via symlink": (lambda d, m, md: _symlink_out(d), r"link\.png is outside the folders"),
    "outside via dotdot": (lambda d, m, md: _dotdot_out(d), r"outside the folders"),
    "empty text": (lambda d, m, md: read_text(""), r"empty"),
    "whitespace text": (lambda d, m, md: read_text(" \n\t "), r"empty"),
    "1000-char text": (lambda d, m, md: read_text("a" * 1000), r"too long \(1000 characters"),
    "non-str text": (lambda d, m, md: read_text(b"bytes"), r"must be a string"),
    "no-letter text": (lambda d, m, md: read_text("123 !!!"), r"no letters"),
    "no video stream": (lambda d, m, md: read_video(md / "tone.m4a"), r"no video stream"),
    "zero frames": (lambda d, m, md: read_video(mf.make_mp4_zero_frames(d / "z.mp4")), r"no decodable video frames"),
    "audio decode timeout": (lambda d, m, md: _timeout_audio(d, m), r"took longer than 0\.1 s"),
    "video decode timeout": (lambda d, m, md: _timeout_video(d, m, md), r"took longer than 0\.1 s"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input(case, tmp_path, monkeypatch, media):
    action, pattern = BAD[case]
    with pytest.raises(MediaError, match=pattern) as info:
        action(tmp_path, monkeypatch, media)
    assert isinstance(info.value, ValueError)
    msg = str(info.value)
    assert str(tmp_path) not in msg and str(media) not in msg  # basename only
    assert "Traceback" not in msg and len(msg) < 300


def test_pickle_npy_is_refused_not_loaded(tmp_path):
    marker = tmp_path / "UNPICKLED"
    with pytest.raises(MediaError, match="pickle"):
        read_points(mf.make_pickle_npy(tmp_path / "obj.npy", marker))
    with pytest.raises(MediaError, match="pickle"):
        read_any(tmp_path / "obj.npy")
    assert not marker.exists()


def test_decoder_errors_never_leak_paths():
    def boom():
        raise RuntimeError("failed at /srv/secret/uploads/x.wav")

    with pytest.raises(MediaError) as info:
        common_mod.run_with_timeout(boom, 5.0, "decode audio", "x.wav")
    assert "/srv/secret" not in str(info.value) and "x.wav" in str(info.value)


def test_timed_out_threads_are_accounted(tmp_path, monkeypatch):
    def settle():  # let timed-out decodes of earlier tests finish
        deadline = time.time() + 5
        while common_mod._lingering and time.time() < deadline:
            time.sleep(0.05)
        return common_mod._lingering

    assert settle() == 0
    monkeypatch.setattr(common_mod, "MAX_LINGERING", 1)
    with pytest.raises(MediaError, match="took longer"):
        common_mod.run_with_timeout(lambda: time.sleep(0.5), 0.05, "decode", "a.wav")
    with pytest.raises(MediaError, match="busy"):  # one still running: refuse more
        common_mod.run_with_timeout(lambda: 1, 1.0, "decode", "b.wav")
    assert settle() == 0
    assert common_mod.run_with_timeout(lambda: 7, 1.0, "decode", "c.wav") == 7


def test_audio_to_model_rejects_bad_waveforms():
    with pytest.raises(MediaError, match="shape"):
        audio_to_model(torch.zeros(100))
    with pytest.raises(MediaError, match="NaN"):
        audio_to_model(torch.full((16000,), float("nan")))


def test_files_stay_open_nowhere(media):
    # readers close what they open: reading many times must not exhaust file handles
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.exists():
        pytest.skip("no /proc")
    before = len(os.listdir(fd_dir))
    for _ in range(5):
        read_any(media / "clip.mp4"), read_any(media / "cloud.npy"), read_any(media / "pic.png")
    assert len(os.listdir(fd_dir)) <= before + 2
