"""Tests of the OmniShapes renderer (omnivec_core.data.omnishapes). Fast: about 20 s on 2 cores."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from omnivec_core.data.omnishapes import (ATTRIBUTES, COLOURS, MODALITIES, MOTIONS, SHAPES, SOLIDS,
                                          EventBatch, OmniShapes, OmniShapesConfig, parse_caption)
from omnivec_core.data.omnishapes import captions as cap
from omnivec_core.modalities.audio import MEL_MEAN, MEL_STD, log_mel, mel_filterbank

WORLD = OmniShapes()
CFG = WORLD.config
B = 256
N_SAMPLES = int(CFG.sample_rate * CFG.duration_s)
EXPECTED_SHAPES = {  # what a batch holds: inputs by modality, "segments/<m>" its dense labels, and the waveform
    "image": (B, 3, CFG.image_size, CFG.image_size),
    "video": (B, CFG.frames, 3, CFG.image_size, CFG.image_size),
    "audio": (B, 1, CFG.n_mels, CFG.mel_frames),
    "waveform": (B, N_SAMPLES),
    "depth": (B, 1, CFG.image_size, CFG.image_size),
    "points": (B, CFG.points, 3),
    "imu": (B, int(CFG.imu_rate * CFG.duration_s), 6),
    "segments/image": (B, CFG.image_size, CFG.image_size),
    "segments/depth": (B, CFG.image_size, CFG.image_size),
    "segments/points": (B, CFG.points),
}
TENSOR_FIELDS = tuple(EXPECTED_SHAPES)


def field_of(batch: EventBatch, name: str):
    """A tensor of the batch by its EXPECTED_SHAPES name (None where not rendered)."""
    if name == "waveform":
        return batch.waveform
    if name.startswith("segments/"):
        return batch.segments.get(name.removeprefix("segments/"))
    return batch.get(name)
# Which fields come with each modality.
FIELDS_OF = {"image": ("image", "segments/image"), "video": ("video",), "audio": ("audio", "waveform"),
             "text": ("text",), "depth": ("depth", "segments/depth"), "points": ("points", "segments/points"),
             "imu": ("imu",)}


@pytest.fixture(scope="module")
def batch() -> EventBatch:
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    return WORLD.render(B, seed=7)


def names(b: EventBatch, i: int) -> dict[str, str]:
    return {k: ATTRIBUTES[k][int(v[i])] for k, v in b.labels.items()}


# ---------------------------------------------------------------- shapes, dtypes, ranges

@pytest.mark.parametrize("field", TENSOR_FIELDS)
def test_field_shapes_and_dtypes(batch, field):
    v = field_of(batch, field)
    assert tuple(v.shape) == EXPECTED_SHAPES[field]
    integer = field.startswith("segments/")
    assert v.dtype == (torch.long if integer else torch.float32)
    assert torch.isfinite(v.float()).all()


def test_labels_params_text_shapes(batch):
    assert len(batch) == B and batch.index.tolist() == list(range(B))
    for name, classes in ATTRIBUTES.items():
        lab = batch.labels[name]
        assert lab.shape == (B,) and lab.dtype == torch.long
        assert set(lab.tolist()) == set(range(len(classes)))  # every class occurs in 256 events
    p = batch.params
    assert p["size"].shape == (B,) and p["speed"].shape == (B,) and p["position"].shape == (B, 2)
    assert p["onsets"].shape == (B, CFG.frames) and p["onsets"].dtype == torch.bool
    assert ((p["onsets"].sum(1) >= 2) & (p["onsets"].sum(1) <= 4)).all()
    assert not p["onsets"][:, 0].any()  # the still image (frame 0) never flashes
    assert len(batch["text"]) == B and all(len(t) == CFG.captions_per_event for t in batch["text"])
    assert all(isinstance(c, str) and 3 <= len(c.split()) <= 20 for t in batch["text"] for c in t)


def test_value_ranges(batch):
    for f in ("image", "video", "depth"):
        v = batch[f]
        assert v.min() >= 0 and v.max() <= 1
    assert batch.waveform.abs().max() <= 1 and batch.waveform.abs().max() > 0.3
    assert batch["points"].abs().max() < 1.3
    a = batch["audio"]
    assert abs(a.mean().item()) < 0.5 and 0.5 < a.std().item() < 2.0  # fixed normalization
    assert (batch.params["position"].abs() <= 1).all()
    small = batch.params["size"][batch.labels["size"] == 0]
    large = batch.params["size"][batch.labels["size"] == 1]
    assert small.max() < large.min()


# ---------------------------------------------------------------- modalities and consistency

@pytest.mark.parametrize("modality", MODALITIES)
def test_renders_only_requested(modality):
    b = WORLD.render(3, seed=1, modalities=(modality,))
    for m, fields in FIELDS_OF.items():
        for f in fields:
            assert (field_of(b, f) is not None) == (m == modality), (m, f)
    assert set(b.labels) == set(ATTRIBUTES)


def test_image_is_frame_zero(batch):
    assert torch.equal(batch["image"], batch["video"][:, 0])
    alone = WORLD.render(16, seed=7, modalities=("image",))
    torch.testing.assert_close(alone["image"], batch["video"][:16, 0], atol=1e-5, rtol=0)
    assert torch.equal(alone.segments["image"], batch.segments["image"][:16])


def test_masks_and_labels_consistent(batch):
    shape1 = batch.labels["shape"] + 1
    for mask in (batch.segments["image"], batch.segments["depth"]):
        flat = mask.flatten(1)
        assert ((flat == 0) | (flat == shape1[:, None])).all()
        assert ((flat > 0).sum(1) >= 10).all()  # non-empty for every event
    assert ((batch["depth"] > 0)[:, 0] == (batch.segments["depth"] > 0)).all()
    # silhouette and depth render overlap (same position, size, rotation; the depth view is tilted)
    inter = ((batch.segments["image"] > 0) & (batch.segments["depth"] > 0)).flatten(1).sum(1)
    union = ((batch.segments["image"] > 0) | (batch.segments["depth"] > 0)).flatten(1).sum(1)
    assert (inter / union).median() > 0.5
    pl = batch.segments["points"]
    assert ((pl == 0) | (pl == shape1[:, None])).all()
    n_ground = round(CFG.points * CFG.ground_fraction)
    assert ((pl == 0).sum(1) == n_ground).all()


def test_points_spread_evenly_over_faces():
    """A cloud covers its solid evenly by area, as a mesh reader's surface sampling does: on a cube, a face's
    central quarter holds about a quarter of the face's points (projecting points drawn throughout the box
    would put half of them there)."""
    from omnivec_core.data.omnishapes.geometry import CUBE_HALF
    from omnivec_core.data.omnishapes.points import _surface
    from omnivec_core.data.omnishapes.world import sample_events

    ev = sample_events(31337, torch.arange(64), CFG.frames, 1, 0.0, 0)
    cubes = _surface(ev, 1024)[ev.shape == SHAPES.index("square")].reshape(-1, 3)
    on_x_face = cubes[cubes[:, 0].abs() > CUBE_HALF - 1e-3]
    central = (on_x_face[:, 1:].abs().amax(1) < CUBE_HALF / 2).float().mean()
    assert len(on_x_face) > 500 and 0.2 < central < 0.31


def test_points_match_pose(batch):
    """Clouds come centred with the farthest point at 1 (the readers' frame); the object sits on its ground
    plane, its extent a fixed share of the scene's whatever the size."""
    pts, pl = batch["points"], batch.segments["points"]
    torch.testing.assert_close(pts.mean(1), torch.zeros(len(pts), 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(pts.norm(dim=-1).amax(1), torch.ones(len(pts)), atol=1e-5, rtol=0)
    ground_top = torch.where(pl == 0, pts[..., 1], -torch.inf).amax(1)
    obj_low = torch.where(pl > 0, pts[..., 1], torch.inf).amin(1)
    assert (ground_top < obj_low + 0.02).all()  # the ground is under the object
    obj = (pl > 0).float()[..., None]
    centroid = (pts * obj).sum(1) / obj.sum(1)
    reach = ((pts - centroid[:, None]).norm(dim=-1) * obj[..., 0]).amax(1)
    assert (reach > 0.3).all() and (reach < 0.9).all()


# ---------------------------------------------------------------- determinism

def _assert_batches_equal(a: EventBatch, b: EventBatch, atol=1e-5, mask_tol=0.002, audio_atol=1e-3):
    assert torch.equal(a.index, b.index) and a["text"] == b["text"]
    for k in a.labels:
        assert torch.equal(a.labels[k], b.labels[k])
    for k in a.params:
        torch.testing.assert_close(a.params[k], b.params[k], atol=1e-6, rtol=0)
    for f in ("image", "video", "audio", "waveform", "points", "depth"):
        x, y = field_of(a, f), field_of(b, f)
        if f == "depth":  # a ray on a silhouette edge may flip between hit and miss
            assert (x - y).abs().gt(atol).float().mean() <= mask_tol
        else:
            torch.testing.assert_close(x, y, atol=atol if f != "audio" else audio_atol, rtol=0)
    for m in a.segments:
        assert (a.segments[m] != b.segments[m]).float().mean() <= mask_tol


def test_same_call_same_result():
    _assert_batches_equal(WORLD.render(6, seed=3), WORLD.render(6, seed=3), atol=0, mask_tol=0)


def test_batch_offset_invariance():
    whole = WORLD.render(8, seed=3, start=0)
    part = WORLD.render(4, seed=3, start=4)
    rows = EventBatch(index=whole.index[4:], seed=3, labels={k: v[4:] for k, v in whole.labels.items()},
                      params={k: v[4:] for k, v in whole.params.items()},
                      inputs={m: x[4:] for m, x in whole.items()},
                      segments={m: x[4:] for m, x in whole.segments.items()}, waveform=whole.waveform[4:])
    _assert_batches_equal(rows, part)
    single = WORLD.render(1, seed=3, start=6)
    assert single["text"][0] == whole["text"][6]
    torch.testing.assert_close(single["video"][0], whole["video"][6], atol=1e-5, rtol=0)


def test_different_seed_or_index_differs():
    a = WORLD.render(16, seed=3, modalities=("image", "text"))
    b = WORLD.render(16, seed=4, modalities=("image", "text"))
    c = WORLD.render(16, seed=3, start=2**40, modalities=("image", "text"))
    for other in (b, c):
        assert not torch.equal(a["image"], other["image"]) and a["text"] != other["text"]
        assert sum(torch.equal(a.labels[k], other.labels[k]) for k in a.labels) < len(a.labels)


def test_siblings_share_shape_colour_motion_and_nothing_else():
    plain = WORLD.render(12, seed=3, start=8)
    _assert_batches_equal(plain, WORLD.render(12, seed=3, start=8, siblings=1))
    grouped = WORLD.render(12, seed=3, start=8, siblings=4)
    shared = torch.stack([grouped.labels[name].view(3, 4) for name in ("shape", "colour", "motion")])
    assert (shared == shared[..., :1]).all()  # events 8..19: three runs of four siblings
    assert len({tuple(run) for run in shared[..., 0].t().tolist()}) == 3  # the runs themselves differ
    for name in ("size", "speed"):  # the sibling draws stay the events' own
        torch.testing.assert_close(grouped.labels[name], plain.labels[name])
    onsets = grouped.params["onsets"].view(3, 4, -1)
    assert all(len({tuple(o.tolist()) for o in run}) > 1 for run in onsets)
    assert not torch.equal(grouped["audio"][0], grouped["audio"][1])


# ---------------------------------------------------------------- text

def test_captions_name_their_event(batch):
    for i, caps in enumerate(batch["text"]):
        truth = names(batch, i)
        for c in caps:
            got = parse_caption(c)
            for k in ("shape", "colour", "motion"):
                assert got.get(k) == truth[k], (c, truth)
            for k in ("size", "speed"):
                assert got.get(k, truth[k]) == truth[k], (c, truth)
        assert len(set(caps)) == len(caps)


def test_counterfactual_captions_are_wrong_about_one_attribute_each(batch):
    seed = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    wrong = cap.counterfactual_captions(batch.labels, 4, seed())
    assert wrong == cap.counterfactual_captions(batch.labels, 4, seed())  # the generator decides everything
    changed_counts = dict.fromkeys(ATTRIBUTES, 0)
    for i, captions in enumerate(wrong):
        truth, changed = names(batch, i), []
        assert len(captions) == 4
        for c in captions:
            says = parse_caption(c)
            assert {"shape", "colour", "motion"} <= set(says), c
            (attr,) = [a for a, v in says.items() if v != truth[a]]  # exactly one named attribute is wrong
            changed.append(attr)
        assert len(set(changed)) == 4  # each about a different attribute
        for attr in changed:
            changed_counts[attr] += 1
    assert min(changed_counts.values()) > 0.6 * 4 * B / 5  # every attribute gets its share
    with pytest.raises(ValueError, match="1..5"):
        cap.counterfactual_captions(batch.labels, 6, seed())


def test_every_template_and_synonym_parses():
    """Exhaustive over templates x synonyms: names recovered, no filler word is a synonym."""
    fillers = set()
    for t in cap.TEMPLATES:
        for slot in ("{a}", "{size}", "{colour}", "{shape}", "{s}", "{ing}", "{adv}"):
            t = t.replace(slot, " ")
        fillers |= set(cap._tokens(t))
    vocab = {w for rows in cap.PHRASES.values() for words, _ in rows for w in words}
    shared_ok = {"moves", "moving", "drifts", "drifting", "to", "the", "slides", "sliding", "travels", "travelling",
                 "turns", "turning", "in", "place", "gets", "getting", "along", "sign"}
    assert not (fillers & vocab) - shared_ok
    for attr, rows in cap.PHRASES.items():  # a phrase belongs to one class only
        seen = {}
        for words, c in rows:
            assert seen.setdefault(words, c) == c, (attr, words)
    for t, (shape, colour, motion) in itertools.product(cap.TEMPLATES, zip(SHAPES, COLOURS, MOTIONS)):
        for sw, cw, (s_form, ing), size, adv in itertools.product(
                cap.SHAPE_WORDS[shape], cap.COLOUR_WORDS[colour], cap.MOTION_WORDS[motion], ("", "tiny"), ("", "swiftly")):
            text = cap._format(t, {"shape": sw, "colour": cw, "s": s_form, "ing": ing, "size": size, "adv": adv})
            want = {"shape": shape, "colour": colour, "motion": motion}
            want.update({"size": "small"} if size else {})
            want.update({"speed": "fast"} if adv else {})
            assert parse_caption(text) == want, text
            assert len(text.split()) <= 20


@pytest.mark.parametrize("text,expected", [
    ("A big crimson disc drifts to the left slowly", {"shape": "circle", "colour": "red", "motion": "left",
                                                      "size": "large", "speed": "slow"}),
    ("the stringy ring", {"shape": "ring"}),  # whole words only: "stringy" is not "ring"
    ("an orange hoop spinning", {"shape": "ring", "colour": "orange", "motion": "spin"}),
    ("a red and blue square", {"shape": "square"}),  # two colours: ambiguous, left out
])
def test_parse_caption_examples(text, expected):
    assert parse_caption(text) == expected


def test_describe(batch):
    d = WORLD.describe(batch.labels_row(0))
    n = names(batch, 0)
    assert isinstance(d, str) and "\n" not in d
    assert all(n[k] in d for k in ("shape", "colour", "size", "speed")) and SOLIDS[batch.labels["shape"][0]] in d


# ---------------------------------------------------------------- video

def test_flash_frames_brighter_than_neighbours(batch):
    lum = batch["video"].mean(2).flatten(2)
    score = lum.topk(16, dim=-1).values.mean(-1)  # brightness of the brightest object pixels
    on = batch.params["onsets"]
    for t in range(CFG.frames):
        for n in (t - 1, t + 1):
            if 0 <= n < CFG.frames:
                sel = on[:, t] & ~on[:, n]
                assert (score[sel, t] > score[sel, n] + 0.1).all()


def _fg_stats(video):
    fg = (video.amax(2) > 0.5).float()  # saturated object colours vs a dark background
    h = video.shape[-1]
    coords = (torch.arange(h, dtype=torch.float32) + 0.5) / h * 2 - 1
    area = fg.sum((-1, -2)).clamp(min=1)
    cx = (fg.sum(-2) * coords).sum(-1) / area
    cy = -(fg.sum(-1) * coords).sum(-1) / area
    return cx, cy, area


@pytest.mark.parametrize("motion", ["left", "right", "up", "down", "grow", "shrink"])
def test_motion_is_visible(batch, motion):
    sel = batch.labels["motion"] == MOTIONS.index(motion)
    cx, cy, area = _fg_stats(batch["video"][sel])
    on = batch.params["onsets"][sel]
    for i in range(int(sel.sum())):
        quiet = (~on[i]).nonzero().flatten()  # compare frames without a flash halo
        first, last = int(quiet[0]), int(quiet[-1])
        delta = {"left": cx[i, first] - cx[i, last], "right": cx[i, last] - cx[i, first],
                 "up": cy[i, last] - cy[i, first], "down": cy[i, first] - cy[i, last],
                 "grow": area[i, last] / area[i, first] - 1, "shrink": area[i, first] / area[i, last] - 1}[motion]
        assert delta > 0.1 * (last - first) / CFG.frames, (motion, i, float(delta))


def test_objects_stay_inside_frame(batch):
    fg = batch["video"].amax(2) > 0.5
    assert not fg[..., 0, :].any() and not fg[..., -1, :].any()
    assert not fg[..., :, 0].any() and not fg[..., :, -1].any()


# ---------------------------------------------------------------- audio

def test_audio_onsets_follow_flash_frames(batch):
    w = batch.waveform
    win = N_SAMPLES // 100  # 10 ms windows
    energy = w[:, : win * 100].pow(2).view(B, 100, win).mean(-1)
    bounds = [(k * N_SAMPLES // CFG.frames) // win for k in range(1, CFG.frames)]
    after = torch.stack([energy[:, p:p + 3].mean(1) for p in bounds], 1)  # 30 ms after frame start
    before = torch.stack([energy[:, p - 3:p].mean(1) for p in bounds], 1)  # 30 ms before
    rise = after - before
    flash = batch.params["onsets"][:, 1:]
    assert (rise[flash] > 0).float().mean() > 0.98
    assert rise[flash].mean() > 10 * rise[~flash].abs().mean()
    separable = torch.tensor([rise[i][flash[i]].min() > rise[i][~flash[i]].max() for i in range(B)])
    assert separable.float().mean() > 0.95
    # instance-level sync: each clip's own flash pattern is (one of) the best matches to its onsets
    r = rise / rise.abs().amax(1, keepdim=True)
    f = flash.float()
    r, f = r - r.mean(1, keepdim=True), f - f.mean(1, keepdim=True)
    score = torch.nn.functional.normalize(r, dim=1) @ torch.nn.functional.normalize(f, dim=1).T  # (audio, video)
    assert (score.diagonal() >= score.amax(1) - 1e-6).float().mean() > 0.9


def test_audio_loudness_follows_size(batch):
    rms = batch.waveform.pow(2).mean(1).sqrt()
    small, large = rms[batch.labels["size"] == 0], rms[batch.labels["size"] == 1]
    assert large.median() > 1.3 * small.median()


@pytest.mark.parametrize("sr,n_fft,n_mels", [(16000, 512, 64), (22050, 1024, 80), (8000, 256, 40)])
def test_mel_filterbank_matches_librosa(sr, n_fft, n_mels):
    librosa = pytest.importorskip("librosa")
    ours = mel_filterbank(sr, n_fft, n_mels)
    ref = torch.from_numpy(librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)).float()
    assert ours.shape == (n_mels, n_fft // 2 + 1)
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-4)


def test_log_mel_matches_librosa(batch):
    librosa = pytest.importorskip("librosa")

    w = batch.waveform[:2].numpy()
    ref = librosa.feature.melspectrogram(y=w, sr=CFG.sample_rate, n_fft=CFG.n_fft, hop_length=N_SAMPLES // CFG.mel_frames,
                                         n_mels=CFG.n_mels)[..., : CFG.mel_frames]  # librosa defaults otherwise
    ref = (torch.log(torch.from_numpy(ref) + 1e-6) - MEL_MEAN) / MEL_STD
    torch.testing.assert_close(log_mel(batch.waveform[:2])[:, 0], ref.float(), atol=1e-3, rtol=0)


# ---------------------------------------------------------------- API errors, devices

@pytest.mark.parametrize("kwargs", [dict(n=0, seed=0), dict(n=2, seed=0, modalities=("image", "smell")),
                                    dict(n=2, seed=0, start=-1), dict(n=2, seed=0.5), dict(n=2.0, seed=0),
                                    dict(n=2, seed=0, modalities="sound"), dict(n=2, seed=0, siblings=0),
                                    dict(n=2, seed=0, siblings=2.0)])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        WORLD.render(**kwargs)


def test_invalid_config():
    with pytest.raises(ValueError):
        OmniShapesConfig(image_size=2)
    with pytest.raises(ValueError):
        OmniShapesConfig(ground_fraction=1.5)


def test_small_custom_config():
    cfg = OmniShapesConfig(image_size=32, frames=4, points=100, captions_per_event=1, n_mels=32, mel_frames=32)
    b = OmniShapes(cfg).render(3, seed=0)
    assert b["video"].shape == (3, 4, 3, 32, 32) and b["audio"].shape == (3, 1, 32, 32)
    assert b["points"].shape == (3, 100, 3) and len(b["text"][0]) == 1
    assert b.to("cpu")["video"].shape == b["video"].shape


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    cpu = WORLD.render(32, seed=5, start=10)
    gpu = WORLD.render(32, seed=5, start=10, device="cuda")
    assert gpu["video"].device.type == "cuda" and gpu["points"].device.type == "cuda"
    _assert_batches_equal(cpu, gpu.to("cpu"), atol=2e-3, mask_tol=0.005, audio_atol=0.05)


# ---------------------------------------------------------------- packaging and CLI

def test_renderer_needs_only_torch_and_numpy():
    import subprocess
    import sys

    code = ("import sys; from omnivec_core.data.omnishapes import OmniShapes; OmniShapes().render(2, seed=0); "
            "heavy = [m for m in ('PIL', 'soundfile', 'librosa', 'imageio', 'trimesh', 'scipy') if m in sys.modules]; "
            "assert not heavy, heavy")
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=root)


def test_preview_cli(tmp_path):
    pytest.importorskip("PIL")
    pytest.importorskip("soundfile")
    from omnivec_core.data.omnishapes.__main__ import main

    assert main(["--preview", str(tmp_path), "--seed", "1", "--n", "2"]) == 0
    for name in ("contact_sheet.png", "events.json", "event_000.gif", "event_001.wav", "event_001.ply"):
        assert (tmp_path / name).stat().st_size > 100
    ply = (tmp_path / "event_000.ply").read_text().splitlines()
    assert ply[0] == "ply" and f"element vertex {CFG.points}" in ply and len(ply) == CFG.points + 12
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0


def test_every_registered_modality_has_a_renderer():
    from omnivec_core.data.omnishapes.renderers import RENDERERS
    from omnivec_core.modalities import REGISTRY
    assert set(RENDERERS) == set(REGISTRY)


def test_a_batch_is_a_mapping_of_modality_to_input():
    from omnivec_core.modalities import CAPTIONS, MODALITIES

    batch = OmniShapes().render(2, seed=5, modalities=("image", CAPTIONS))
    assert batch.modalities == tuple(m for m in MODALITIES if m in ("image", CAPTIONS))
    assert dict(batch.items()).keys() == {"image", CAPTIONS} and len(batch[CAPTIONS]) == 2 and "video" not in batch
    assert batch.get("video") is None and set(batch.segments) == {"image"} and batch.waveform is None
    with pytest.raises(KeyError, match="'video' \\(registered\\) is not in this batch; it holds image, text"):
        batch["video"]
    with pytest.raises(KeyError, match="'smell' \\(not a registered modality\\)"):
        batch["smell"]
    moved = batch.to("cpu").repeated(2)
    assert len(moved) == 4 and moved[CAPTIONS][0] == moved[CAPTIONS][1] and moved.segments["image"].shape[0] == 4
