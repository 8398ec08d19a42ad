"""The IMU modality's data side: the OmniShapes IMU renderer (physics, timing, determinism,
what a linear probe can read from it), the preview figure, and the .csv/.npy trace reader."""
from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from bench import media_factory as mf
from omnivec_core.data import readers as R
from omnivec_core.data.omnishapes import MODALITIES, MOTIONS, OmniShapes, OmniShapesConfig
from omnivec_core.data.omnishapes.imu import render_imu
from omnivec_core.data.readers import LIMITS, MediaError, ReaderLimits, read_any, read_imu

WORLD = OmniShapes()
RATE = WORLD.config.imu_rate
T = int(RATE * WORLD.config.duration_s)


@pytest.fixture(scope="module")
def batch():
    return WORLD.render(512, seed=11, modalities=("imu",))


def _is(b, motion: str) -> torch.Tensor:
    return b.labels["motion"] == MOTIONS.index(motion)


# ---------------------------------------------------------------- renderer: shape, determinism, isolation

def test_shape_dtype_finite(batch):
    x = batch["imu"]
    assert x.shape == (512, T, 6) and x.dtype == torch.float32 and torch.isfinite(x).all()
    assert 0.7 < float(x[..., 1].median()) < 1.1  # gravity: about +1 g on ay at rest
    assert float(x[..., :3].abs().amax()) < 15 and float(x[..., 3:].abs().amax()) < 6  # O(1) units
    assert "imu" == MODALITIES[-1]


def test_deterministic_across_batches_and_offsets():
    whole = WORLD.render(16, seed=3, modalities=("imu",))
    assert torch.equal(whole["imu"], WORLD.render(16, seed=3, modalities=("imu",))["imu"])
    part = WORLD.render(8, seed=3, start=8, modalities=("imu",))
    torch.testing.assert_close(part["imu"], whole["imu"][8:], atol=1e-5, rtol=0)
    for i in (0, 5, 13):
        single = WORLD.render(1, seed=3, start=i, modalities=("imu",))
        torch.testing.assert_close(single["imu"][0], whole["imu"][i], atol=1e-5, rtol=0)
    other = WORLD.render(16, seed=4, modalities=("imu",))
    assert not torch.allclose(other["imu"], whole["imu"])


def test_other_modalities_unchanged_by_imu():
    others = tuple(m for m in MODALITIES if m != "imu")
    without = WORLD.render(4, seed=5, start=3, modalities=others)
    with_imu = WORLD.render(4, seed=5, start=3, modalities=MODALITIES)
    assert "imu" not in without and "imu" in with_imu and with_imu["text"] == without["text"]
    for m in others:
        if m != "text":
            assert torch.equal(with_imu[m], without[m]), m
    assert torch.equal(with_imu.waveform, without.waveform)
    assert all(torch.equal(with_imu.segments[m], without.segments[m]) for m in without.segments)
    for k in without.params:
        assert torch.equal(with_imu.params[k], without.params[k])
    alone = WORLD.render(4, seed=5, start=3, modalities=("imu",))
    assert torch.equal(alone["imu"], with_imu["imu"])
    assert "imu" not in WORLD.render(4, seed=5, start=3, modalities=("image",))


def test_config_rate_and_validation():
    b = OmniShapes(OmniShapesConfig(imu_rate=50)).render(3, seed=0, modalities=("imu",))
    assert b["imu"].shape == (3, 50, 6) and torch.isfinite(b["imu"]).all()
    ev = WORLD.events(2, seed=0)
    assert render_imu(ev, rate=200, duration_s=0.5).shape == (2, 100, 6)
    for bad in (5, 0, 100.5, True, 10**6):
        with pytest.raises(ValueError, match="imu_rate"):
            OmniShapesConfig(imu_rate=bad)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    cpu = WORLD.render(64, seed=5, start=10, modalities=("imu",))
    gpu = WORLD.render(64, seed=5, start=10, modalities=("imu",), device="cuda")
    assert gpu["imu"].device.type == "cuda"
    torch.testing.assert_close(gpu["imu"].cpu(), cpu["imu"], atol=2e-3, rtol=0)


# ---------------------------------------------------------------- renderer: physics

def test_spin_shows_in_gyro_and_turns_gravity(batch):
    gz = batch["imu"][..., 5].abs().mean(1)
    spin = _is(batch, "spin")
    assert gz[spin].min() > 1.5 and gz[~spin].max() < 0.05  # 2-4 rad/s against noise + bias
    assert gz[spin].min() > 30 * gz[~spin].mean()
    # gravity turns through ax, ay: the angle of (ax, ay) sweeps what the gyro integrates
    x = batch["imu"][spin]
    swept = torch.atan2(x[:, 80, 0], x[:, 80, 1]) - torch.atan2(x[:, 10, 0], x[:, 10, 1])
    swept = torch.remainder(swept + math.pi, 2 * math.pi) - math.pi
    integrated = x[:, 10:80, 5].sum(1) / RATE
    wrapped = torch.remainder(integrated + math.pi, 2 * math.pi) - math.pi
    assert ((swept - wrapped).abs() < 0.3).float().mean() > 0.9
    assert x[..., 3:5].abs().amax() < 0.1  # nothing turns about x or y


def _impulses(b, channel: int):
    """Start and end impulse per event: the first / last 3 samples minus the quiet middle."""
    x = b["imu"][..., channel]
    base = x[:, 20:80].median(1).values
    return x[:, :3].mean(1) - base, x[:, -3:].mean(1) - base


@pytest.mark.parametrize("neg,pos,channel", [("left", "right", 0), ("down", "up", 1), ("shrink", "grow", 2)])
def test_linear_motions_are_signed_impulses(batch, neg, pos, channel):
    start, end = _impulses(batch, channel)
    for motion, sign in ((neg, -1.0), (pos, 1.0)):
        sel = _is(batch, motion)
        assert sel.sum() > 20
        assert (sign * start[sel] > 0.25).all(), motion  # starts towards its direction
        assert (sign * end[sel] < -0.15).all(), motion  # stops: the opposite impulse
    # in the body frame an in-plane motion leaks into the other in-plane axis (the object's tilt, up
    # to 30 degrees), but never into z, and z motions never into x or y
    across = ("grow", "shrink") if channel < 2 else ("left", "right", "up", "down")
    others = torch.stack([_is(batch, m) for m in across]).any(0)
    assert start[others].abs().max() < 0.1


@pytest.mark.parametrize("motion,channel", [("left", 0), ("right", 0), ("up", 1), ("down", 1), ("grow", 2),
                                            ("shrink", 2)])
def test_fast_events_have_larger_impulses(batch, motion, channel):
    start, _ = _impulses(batch, channel)
    sel = _is(batch, motion)
    fast = start[sel & (batch.labels["speed"] == 1)].abs()
    slow = start[sel & (batch.labels["speed"] == 0)].abs()
    assert len(fast) > 5 and len(slow) > 5
    assert fast.min() > slow.max()  # the speed buckets do not overlap in impulse size
    assert fast.median() > 1.3 * slow.median()


def test_bounce_has_vertical_impacts(batch):
    var = batch["imu"][..., 1].var(1)
    bounce, lateral = _is(batch, "bounce"), _is(batch, "left") | _is(batch, "right")
    assert var[bounce].min() > 10 * var[lateral].max()
    assert batch["imu"][bounce, :, 1].amax(1).min() > 3.0  # sharp impacts of several g
    hop = batch["imu"][bounce, 20:80, 1].amin(1)
    assert (hop < 0.7).all() and hop.median() < 0.3  # near free fall (0 g) at the top of each hop


def _burst_energy(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, frames - 1) high-passed accelerometer energy in the 40 ms after each frame 1.. starts."""
    d = x[..., :3].diff(dim=1).pow(2).sum(-1)  # d[:, k] = |a[k+1] - a[k]|^2
    starts = [math.ceil(f * x.shape[1] / frames - 1e-9) for f in range(1, frames)]
    return torch.stack([d[:, max(k - 1, 0):k + 3].sum(1) for k in starts], 1)


def test_vibration_bursts_at_flash_frames(batch):
    frames = WORLD.config.frames
    keep = ~_is(batch, "bounce")  # bounce impacts can fall on a flash time
    energy = _burst_energy(batch["imu"][keep], frames)
    flash = batch.params["onsets"][keep][:, 1:]
    assert energy[flash].mean() > 20 * energy[~flash].mean()
    separable = torch.tensor([energy[i][flash[i]].min() > energy[i][~flash[i]].max() for i in range(len(energy))])
    assert separable.float().mean() > 0.97
    # instance level: thresholding the energy recovers each clip's own flash pattern
    found = energy > 0.12  # g^2: bursts 0.5 g, noise 0.02 g
    assert (found == flash).all(1).float().mean() > 0.95
    # the burst starts at the flash time, not before
    for f in range(2, frames, 2):  # even frames fall exactly on a sample
        k = f * T // frames
        sel = flash[:, f - 1]
        before = batch["imu"][keep][sel, k - 3:k, :3].diff(dim=1).pow(2).sum((1, 2))
        after = batch["imu"][keep][sel, k - 1:k + 2, :3].diff(dim=1).pow(2).sum((1, 2))
        assert (after > 5 * before).float().mean() > 0.95


def _features(x: torch.Tensor) -> np.ndarray:
    """Simple per-channel features: start/end/overall means, spread, extremes, roughness."""
    d = x.diff(dim=1)
    parts = [x[:, :8].mean(1), x[:, -8:].mean(1), x.mean(1), x.std(1), x.abs().amax(1), x.amax(1), x.amin(1),
             d.abs().mean(1)]
    return torch.cat(parts, 1).numpy()


def test_linear_probe_reads_motion_and_speed():
    """Measured (seed 1 -> seed 2, 600 events each): motion 0.998, speed 0.932, shape 0.138
    (chance 0.125); on the raw flattened traces motion 0.94, speed 0.60."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train = WORLD.render(600, seed=1, modalities=("imu",))
    test = WORLD.render(600, seed=2, modalities=("imu",))
    xtr, xte = _features(train["imu"]), _features(test["imu"])
    acc = {}
    for attr in ("motion", "speed", "shape"):
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        clf.fit(xtr, train.labels[attr].numpy())
        acc[attr] = clf.score(xte, test.labels[attr].numpy())
    print(f"IMU linear probe accuracy: {acc}")
    assert acc["motion"] > 0.6 and acc["speed"] > 0.7
    assert acc["shape"] < 0.3  # an IMU cannot see shape (chance 0.125)


def test_package_imports_stay_light():
    code = ("import sys; from omnivec_core.data.omnishapes import OmniShapes; OmniShapes().render(2, seed=0, "
            "modalities=('imu',)); "
            "heavy = [m for m in ('plotly', 'PIL', 'scipy', 'sklearn') if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=Path(__file__).resolve().parents[1])


# ---------------------------------------------------------------- reader: good inputs

GRID = np.arange(T) / RATE


def _check_trace(out, name: str):
    assert out.kind == "imu" and out.name == name and out.waveform is None
    t = out.tensor
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32 and t.shape == (100, 6)
    assert torch.isfinite(t).all()


def test_csv_with_header(tmp_path):
    out = read_imu(mf.make_imu_csv(tmp_path / "walk.csv"))
    _check_trace(out, "walk.csv")
    np.testing.assert_allclose(out.tensor.numpy(), mf.imu_signal(GRID), atol=1e-5)
    assert any("assumed 100 Hz" in n for n in out.notes)


def test_csv_with_time_column_is_resampled(tmp_path):
    out = read_imu(mf.make_imu_csv(tmp_path / "fast.csv", seconds=1.5, rate=200, time_column=True, t0=12.5))
    _check_trace(out, "fast.csv")
    np.testing.assert_allclose(out.tensor.numpy(), mf.imu_signal(GRID), atol=1e-5)
    text = " | ".join(out.notes)
    assert "200 Hz, resampled to 100 Hz" in text and "first 1 s" in text
    odd = read_imu(mf.make_imu_csv(tmp_path / "odd.csv", rate=250, time_column=True, header=None, delimiter=" "))
    np.testing.assert_allclose(odd.tensor.numpy(), mf.imu_signal(GRID), atol=3e-3)  # 250 Hz: true interpolation


def test_csv_variants(tmp_path):
    semi = tmp_path / "semi.csv"
    semi.write_text("# exported\nax;ay;az;gx;gy;gz\n" + "0,5;1,0;-0,25;0;0;3\n" * 50)  # decimal commas
    out = read_imu(semi)
    assert out.tensor[0].tolist() == [0.5, 1.0, -0.25, 0.0, 0.0, 3.0]
    assert any("padded" in n for n in out.notes) and torch.equal(out.tensor[-1], out.tensor[49])
    ms = tmp_path / "ms.csv"
    ms.write_text("time_ms,ax,ay,az,gx,gy,gz\n" + "".join(f"{5 * i},{i},1,0,0,0,0,\n" for i in range(300)))
    out = read_imu(ms)  # milliseconds by name, trailing separators tolerated
    assert out.tensor[:, 0].tolist() == pytest.approx([2.0 * k for k in range(100)])
    si = read_imu(mf.make_imu_csv(tmp_path / "si.csv", scale_acc=9.81, header=None, delimiter="\t"))
    np.testing.assert_allclose(si.tensor.numpy(), mf.imu_signal(GRID), atol=1e-3)
    assert any("converted to g" in n for n in si.notes)


def test_npy(tmp_path):
    out = read_imu(mf.make_imu_npy(tmp_path / "trace.npy"))
    _check_trace(out, "trace.npy")
    np.testing.assert_allclose(out.tensor.numpy(), mf.imu_signal(GRID), atol=1e-6)
    timed = read_imu(mf.make_imu_npy(tmp_path / "timed.npy", seconds=0.5, rate=50, time_column=True,
                                     dtype=np.float64))
    np.testing.assert_allclose(timed.tensor[:49].numpy(), mf.imu_signal(GRID[:49]), atol=0.02)  # to 0.48 s
    assert torch.equal(timed.tensor[-1], timed.tensor[48])  # then padded with the last value
    assert any("50 Hz" in n for n in timed.notes) and any("padded" in n for n in timed.notes)
    np.save(tmp_path / "wide.npy", mf.imu_signal(np.arange(120) / 100).T.copy())
    assert any("transposed" in n for n in read_imu(tmp_path / "wide.npy").notes)


def test_rendered_trace_round_trips(tmp_path):
    x = WORLD.render(1, seed=0, modalities=("imu",))["imu"][0]
    np.save(tmp_path / "event_imu.npy", x.numpy())
    out = read_any(tmp_path / "event_imu.npy")
    assert out.kind == "imu" and torch.equal(out.tensor, x)


def test_read_any_dispatch(tmp_path):
    header = mf.make_imu_csv(tmp_path / "trace.csv")
    timed = mf.make_imu_csv(tmp_path / "timed.csv", time_column=True, header=None)
    named = mf.make_imu_csv(tmp_path / "walk_imu.csv", header=None)
    plain = mf.make_imu_npy(tmp_path / "plain.npy")  # 6 bare columns: xyz + normals or an IMU?
    cloud = mf.make_xyz(tmp_path / "cloud.csv", delimiter=",", header="x,y,z")
    for p in (header, timed, named):
        assert read_any(p).kind == "imu" and R.guess_kind(p) == "imu"
    assert R.kind_of(header) == "points" and R.KINDS[".csv"] == ("points", "imu") and R.KINDS[".npy"][-1] == "imu"
    assert read_any(plain).kind == "points" and R.guess_kind(plain) == "points"  # ambiguous: points, as before
    assert read_any(plain, kind="imu").kind == "imu"
    assert read_any(cloud).kind == "points" and R.guess_kind(cloud) == "points"
    with pytest.raises(MediaError, match=r"cloud\.csv: a \.csv file cannot be read as video"):
        read_any(cloud, kind="video")
    assert read_any(header, allowed_roots=[tmp_path]).kind == "imu"


# ---------------------------------------------------------------- reader: refusals

def _write(d: Path, name: str, body) -> Path:
    (d / name).write_bytes(body if isinstance(body, bytes) else body.encode())
    return d / name


ROWS = "1,2,3,4,5,6\n"
BAD = {  # id: (make(tmp_dir) -> path, message pattern); each message names the file
    "nan": (lambda d: _write(d, "trace.csv", ROWS * 3 + "1,nan,3,4,5,6\n" + ROWS * 20),
            r"^trace\.csv: row 4 has a NaN or infinite value"),
    "inf": (lambda d: _write(d, "inf.csv", "ax,ay,az,gx,gy,gz\n" + ROWS * 3 + "1,2,inf,4,5,6\n"),
            r"^inf\.csv: row 5 has a NaN or infinite value"),
    "four columns": (lambda d: _write(d, "trace.csv", "ax,ay,az,gx\n" + "1,2,3,4\n" * 20),
                     r"^trace\.csv: row 2 has 4 values, an IMU trace needs 6 \(ax, ay, az, gx, gy, gz\)"),
    "ragged row": (lambda d: _write(d, "ragged.csv", ROWS * 3 + "1,2,3,4\n" + ROWS * 20),
                   r"^ragged\.csv: row 4 has 4 values, but the rows above have 6"),
    "non-numeric cell": (lambda d: _write(d, "cell.csv", ROWS * 4 + "1,oops,3,4,5,6\n" + ROWS * 20),
                         r"^cell\.csv: row 5, column 2 is not a number \('oops'\)"),
    "empty file": (lambda d: mf.make_empty(d / "empty.csv"), r"^empty\.csv is empty"),
    "only a header": (lambda d: _write(d, "head.csv", "ax,ay,az,gx,gy,gz\n\n"), r"^head\.csv has no data rows"),
    "text garbage": (lambda d: mf.make_text_file(d / "notes.csv"), r"^notes\.csv is not a table of numbers"),
    "binary garbage": (lambda d: mf.make_random_bytes(d / "noise.csv"), r"^noise\.csv .*(binary|not a table)"),
    "html": (lambda d: mf.make_text_file(d / "page.csv", "<html><body>hi</body></html>"),
             r"^page\.csv has the wrong content.*HTML page, not an IMU trace"),
    "too few samples": (lambda d: _write(d, "short.csv", ROWS * 5), r"^short\.csv: only 5 samples; .*at least 10"),
    "time not increasing": (lambda d: _write(d, "clock.csv", "".join(f"{0.01 * (i % 7)},1,2,3,4,5,6\n"
                                                                      for i in range(40))),
                            r"^clock\.csv: 7 columns, but the first is not an increasing time column"),
    "time in ms unnamed": (lambda d: _write(d, "ms.csv", "".join(f"{10 * i},1,2,3,4,5,6\n" for i in range(40))),
                           r"^ms\.csv: the time column gives a rate of 0\.1 Hz.*time_ms"),
    "pickle npy": (lambda d: mf.make_pickle_npy(d / "obj.npy", d / "UNPICKLED"),
                   r"^obj\.npy contains Python objects \(a pickle\)"),
    "npy wrong shape": (lambda d: np.save(d / "flat.npy", np.zeros((50, 3))) or d / "flat.npy",
                        r"^flat\.npy: expected a \(T, 6\) array .*got shape \(50, 3\)"),
    "npy nan": (lambda d: np.save(d / "nan.npy", np.where(np.arange(600).reshape(100, 6) == 20, np.nan, 0.0))
                or d / "nan.npy", r"^nan\.npy: sample 3 has a NaN or infinite value"),
    "npy strings": (lambda d: np.save(d / "str.npy", np.full((20, 6), "a")) or d / "str.npy",
                    r"^str\.npy: the array must hold numbers"),
    "truncated npy": (lambda d: mf.make_truncated(mf.make_imu_npy(d / "ok.npy"), d / "cut.npy", 0.5),
                      r"^cut\.npy is not a readable \.npy array"),
    "wrong extension": (lambda d: mf.make_imu_csv(d / "trace.txt"), r"^trace\.txt: unsupported IMU trace type '\.txt'"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_trace(case, tmp_path):
    make, pattern = BAD[case]
    path = make(tmp_path)
    with pytest.raises(MediaError, match=pattern) as info:
        read_imu(path)
    msg = str(info.value)
    assert info.value.name == path.name and str(tmp_path) not in msg and len(msg) < 300
    assert not (tmp_path / "UNPICKLED").exists()
    if path.suffix in R.IMU_EXTS:  # the same refusal through read_any
        with pytest.raises(MediaError, match=pattern):
            read_any(path, kind="imu")


def test_oversized_trace(tmp_path):
    path = mf.make_imu_csv(tmp_path / "big.csv", seconds=3.0)
    with pytest.raises(MediaError, match=r"^big\.csv is too large"):
        read_imu(path, ReaderLimits(max_bytes=1000))
    out = read_imu(path, replace(LIMITS, decode_timeout_s=5.0))  # only the first second is parsed
    assert any("first 1 s" in n for n in out.notes)
