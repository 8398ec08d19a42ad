"""Folder datasets (data/folders.py): every layout read from folders drawn at test time by ffmpeg,
espeak-ng, trimesh and Pillow; broken files skipped with their reasons; labels, splits, captions;
the decoded-file cache; the scanned folder left untouched. ffmpeg and espeak-ng must be installed:
without them these tests fail (media_factory.require_tool says so), they never skip."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from bench import media_factory as mf
from omnivec_core.data import folder_layouts as fl
from omnivec_core.data import folders, readers
from omnivec_core.data.folders import FolderDataset, scan_folder
from omnivec_core.modalities import REGISTRY



def _snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root with its size and modification time (folders too)."""
    return {p.relative_to(root).as_posix(): (p.is_dir(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*")}


def _item(ds: FolderDataset, path: str):
    return next(item for item in ds.items if item.path == path)


def _skipped(ds: FolderDataset) -> dict[str, str]:
    return {s.path: s.reason for s in ds.skipped}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """Two class folders of ffmpeg clips, an empty and a truncated mp4, an unsupported file, captions."""
    root = tmp_path_factory.mktemp("clips")
    for colour, direction in (("red", "left"), ("blue", "up")):
        (root / f"{colour}_{direction}").mkdir()
        for g in range(2):
            mf.make_ffmpeg_clip(root / f"{colour}_{direction}" / f"v_{colour}{direction}_g0{g}_c01.mp4", colour,
                                direction, freq=330 + 220 * g)
    mf.make_empty(root / "red_left" / "empty.mp4")
    mf.make_truncated(root / "blue_up" / "v_blueup_g00_c01.mp4", root / "blue_up" / "cut.mp4", 0.4)
    mf.make_text_file(root / "README.md")
    (root / "captions.csv").write_text(
        "file,caption\n"
        "v_redleft_g00_c01.mp4,a red square moving left\n"
        'v_redleft_g00_c01.mp4,"a red box slides, to the left"\n'
        "blue_up/v_blueup_g01_c01.mp4,a blue square moving up\n")
    return root


def test_clips_layout_labels_inputs_captions(clips, tmp_path):
    before = _snapshot(clips)
    calls = []
    ds = scan_folder(clips, cache_dir=tmp_path / "cache", progress=lambda done, total: calls.append((done, total)))
    assert ds.layout == "clips" and ds.classes == ["blue_up", "red_left"]
    assert sorted(item.path for item in ds.items) == [
        "blue_up/v_blueup_g00_c01.mp4", "blue_up/v_blueup_g01_c01.mp4",
        "red_left/v_redleft_g00_c01.mp4", "red_left/v_redleft_g01_c01.mp4"]
    skipped = _skipped(ds)
    assert set(skipped) == {"README.md", "blue_up/cut.mp4", "red_left/empty.mp4"}  # captions.csv is no item
    assert "empty" in skipped["red_left/empty.mp4"]
    assert "corrupt, truncated" in skipped["blue_up/cut.mp4"]
    assert "unsupported file type '.md'" in skipped["README.md"]
    report = ds.report()
    for path, reason in skipped.items():
        assert f"`{path}`: {reason}" in report
    assert "layout: **clips**" in report and "| red_left | 2 |" in report
    assert calls == [(i, 7) for i in range(1, 8)] and ds.files == 7 and ds.cached == 0
    assert ds.modalities() == ["image", "video", "audio", "text"]
    for item in ds.items:
        assert item.label == item.path.split("/")[0] and item.split in ("train", "test")
        assert item.split == "test" or fl.hash_split(item.path) == "train", "what the hash holds out stays out"
        v, a, im = item.inputs["video"], item.inputs["audio"], item.inputs["image"]
        assert v.shape == (8, 3, 64, 64) and v.dtype == torch.float32
        assert im.shape == (3, 64, 64) and torch.equal(im, v[0])  # the still is the clip's first frame
        loaded = readers.read_any(clips / item.path)
        assert a.shape == (1, 64, 64) and torch.equal(a, REGISTRY["audio"].from_loaded(loaded)[0])
        assert torch.equal(v, loaded.tensor)
    assert ds.split("train") + ds.split("test") and len(ds.split("train")) + len(ds.split("test")) == 4
    assert {item.label for item in ds.split("test")} == {"red_left", "blue_up"}, "each class of two clips is tested"
    assert _item(ds, "red_left/v_redleft_g00_c01.mp4").captions == ["a red square moving left",
                                                                    "a red box slides, to the left"]
    assert _item(ds, "blue_up/v_blueup_g01_c01.mp4").captions == ["a blue square moving up"]
    assert _item(ds, "blue_up/v_blueup_g00_c01.mp4").captions == []
    # the moving square: red drifts left, blue drifts up
    red = _item(ds, "red_left/v_redleft_g01_c01.mp4").inputs["video"][:, 0]
    cols = [float((f > 0.5).nonzero()[:, 1].float().mean()) for f in red]
    assert cols[-1] < cols[0] - 10
    assert _snapshot(clips) == before


def test_second_scan_reads_the_cache_and_a_changed_file_is_read_again(clips, tmp_path, monkeypatch):
    root, cache = tmp_path / "data", tmp_path / "cache"
    shutil.copytree(clips, root)
    before = _snapshot(root)
    first = scan_folder(root, cache_dir=cache)
    decoded: list[str] = []
    real = readers.read_any
    monkeypatch.setattr(readers, "read_any", lambda p, *a, **k: (decoded.append(Path(p).name), real(p, *a, **k))[1])

    second = scan_folder(root, cache_dir=cache)
    assert decoded == ["README.md"]  # only to name its unsupported type; no clip, not even the broken one
    assert second.cached == 5 and "read from the cache: 5 of 7 files" in second.report()
    assert [s.reason for s in second.skipped] == [s.reason for s in first.skipped]
    for a, b in zip(first.items, second.items):
        assert a.path == b.path and a.label == b.label and a.split == b.split and a.captions == b.captions
        assert a.inputs.keys() == b.inputs.keys() and all(torch.equal(a.inputs[m], b.inputs[m]) for m in a.inputs)
    assert _snapshot(root) == before  # nothing in the folder was written or touched
    assert all(p.suffix == ".safetensors" for p in cache.rglob("*") if p.is_file())

    changed = "red_left/v_redleft_g01_c01.mp4"  # now a green square moving down
    mf.make_ffmpeg_clip(root / changed, "green", "down")
    copied = "blue_up/v_blueup_g09_c01.mp4"  # a new file with known content: the cache knows it already
    shutil.copyfile(root / "blue_up/v_blueup_g01_c01.mp4", root / copied)
    decoded.clear()
    third = scan_folder(root, cache_dir=cache)
    assert [d for d in decoded if d.endswith(".mp4")] == ["v_redleft_g01_c01.mp4"] and third.cached == 5
    green = _item(third, changed).inputs["video"]
    assert green[:, 1].mean() > green[:, 0].mean() and not torch.equal(green, _item(first, changed).inputs["video"])
    assert torch.equal(_item(third, copied).inputs["video"], _item(third, "blue_up/v_blueup_g01_c01.mp4").inputs["video"])


def test_sounds_esc50_metadata_csv_and_jsonl_captions(tmp_path):
    root = tmp_path / "esc"
    (root / "audio").mkdir(parents=True)
    (root / "meta").mkdir()
    rows = ["filename,fold,target,category,esc10,src_file,take"]
    for i, (word, target) in enumerate((("dog", 0), ("dog", 0), ("rain", 1), ("rain", 1))):
        name = f"{i % 2 + 1}-10{i}-A-{target}.wav"
        mf.make_spoken_wav(root / "audio" / name, word, voice=("en", "en-us")[i % 2], speed=150 + 20 * i)
        rows.append(f"{name},{i % 2 + 1},{target},{word},False,10{i},A")
    mf.make_text_file(root / "audio" / "1-999-A-1.wav")  # a text file named .wav, listed in the CSV
    rows.append("1-999-A-1.wav,1,1,rain,False,999,A")
    mf.make_spoken_wav(root / "audio" / "extra.wav", "hello")  # not in the CSV: no label
    (root / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    (root / "captions.jsonl").write_text('{"file": "1-100-A-0.wav", "caption": ["a dog word", "someone says dog"]}\n'
                                         '{"filename": "audio/2-101-A-0.wav", "text": "dog, slower"}\n')
    ds = scan_folder(root, cache_dir=tmp_path / "cache")
    assert ds.layout == "sounds" and ds.classes == ["dog", "rain"]
    assert {s.path for s in ds.skipped} == {"audio/1-999-A-1.wav"}
    assert "contains text, not audio" in ds.skipped[0].reason and "audio/1-999-A-1.wav" in ds.report()
    labels = {item.path: item.label for item in ds.items}
    assert labels == {"audio/1-100-A-0.wav": "dog", "audio/2-101-A-0.wav": "dog", "audio/1-102-A-1.wav": "rain",
                      "audio/2-103-A-1.wav": "rain", "audio/extra.wav": None}
    assert all(item.inputs.keys() == {"audio"} and item.inputs["audio"].shape == (1, 64, 64) for item in ds.items)
    assert _item(ds, "audio/1-100-A-0.wav").captions == ["a dog word", "someone says dog"]
    assert _item(ds, "audio/2-101-A-0.wav").captions == ["dog, slower"]
    assert "labels from meta/esc50.csv" in ds.report() and "1 items have no label" in ds.report()


def test_meshes_modelnet_train_test_folders(tmp_path):
    root = tmp_path / "ModelNet"
    for shape, exts in (("box", (".off", ".ply", ".stl")), ("cone", (".off", ".obj", ".off"))):
        for i, (split, ext) in enumerate(zip(("train", "train", "test"), exts)):
            (root / shape / split).mkdir(parents=True, exist_ok=True)
            mf.make_primitive_mesh(root / shape / split / f"{shape}_{i:04d}{ext}", shape, seed=i)
    mf.make_off_bad_faces(root / "box" / "train" / "box_0099.off")
    ds = scan_folder(root, cache_dir=tmp_path / "cache")
    assert ds.layout == "meshes" and ds.classes == ["box", "cone"] and len(ds.items) == 6
    assert [s.path for s in ds.skipped] == ["box/train/box_0099.off"]
    assert "not a readable OFF file" in ds.skipped[0].reason
    for item in ds.items:
        assert item.split == item.path.split("/")[1] and item.label == item.path.split("/")[0]
        assert item.inputs.keys() == {"points"} and item.inputs["points"].shape == (1024, 3)
    assert len(ds.split("test")) == 2 and ds.modalities() == ["points"]


def test_image_class_folders_with_depth_and_txt_captions(tmp_path):
    root = tmp_path / "pets"
    (root / "cat").mkdir(parents=True)
    (root / "dog").mkdir()
    mf.make_png(root / "cat" / "a.png")
    mf.make_jpg(root / "cat" / "b.jpg")
    mf.make_png(root / "dog" / "c.png", size=(64, 64))
    mf.make_depth_png16(root / "dog" / "c_depth.png")
    mf.make_truncated(root / "cat" / "a.png", root / "dog" / "bad.png", 0.3)
    (root / "captions.txt").write_text("# file<TAB>caption\ncat/a.png\ta cat picture\nc\ta dog\nc\ta dog with depth\n")
    ds = scan_folder(root, cache_dir=tmp_path / "cache")
    assert ds.layout == "images" and ds.classes == ["cat", "dog"]
    assert [item.path for item in ds.items] == ["cat/a.png", "cat/b.jpg", "dog/c.png"]
    assert [s.path for s in ds.skipped] == ["dog/bad.png"] and "truncated or corrupt" in ds.skipped[0].reason
    c = _item(ds, "dog/c.png")
    assert c.files == ["dog/c.png", "dog/c_depth.png"] and c.inputs.keys() == {"image", "depth"}
    depth = c.inputs["depth"]
    assert depth.shape == (1, 64, 64) and float(depth.max()) > 0.9 and float(depth.min()) < 0.1
    assert c.captions == ["a dog", "a dog with depth"] and _item(ds, "cat/a.png").captions == ["a cat picture"]
    assert _item(ds, "cat/a.png").inputs["image"].shape == (3, 64, 64)
    assert "depth" in ds.modalities()


def test_flat_folder_pairs_files_and_depth_folder(tmp_path):
    root = tmp_path / "mixed"
    (root / "rgb").mkdir(parents=True)
    (root / "depth").mkdir()
    mf.make_png(root / "rgb" / "0001.png")
    mf.make_depth_png16(root / "depth" / "0001.png")
    mf.make_depth_png16(root / "depth" / "0002.png")  # no picture: an item of its own
    mf.make_wav(root / "tone.wav")
    mf.make_imu_csv(root / "walk_imu.csv")
    mf.make_mp4_with_aac(root / "thing.mp4", seconds=1.0, audio=False)
    mf.make_primitive_mesh(root / "thing.off", "cylinder")
    mf.make_wav(tmp_path / "outside.wav")
    (root / "away.wav").symlink_to(tmp_path / "outside.wav")  # a link leading out of the folder is not followed
    ds = scan_folder(root, cache_dir=tmp_path / "cache")
    assert ds.layout == "flat" and ds.classes == []
    assert [(s.path, s.reason) for s in ds.skipped] == [("away.wav", "away.wav is a link to a file outside the "
                                                                     "dataset folder")]
    assert all(item.label is None and item.split == fl.hash_split(item.path) for item in ds.items)
    assert {item.path: sorted(item.inputs) for item in ds.items} == {
        "depth/0002.png": ["depth"], "rgb/0001.png": ["depth", "image"], "thing.mp4": ["image", "points", "video"],
        "tone.wav": ["audio"], "walk_imu.csv": ["imu"]}
    assert _item(ds, "thing.mp4").files == ["thing.mp4", "thing.off"]
    assert _item(ds, "walk_imu.csv").inputs["imu"].shape == (100, 6)
    assert any("no audio track" in n for n in _item(ds, "thing.mp4").notes)


def test_hash_split_is_about_a_fifth_and_keeps_clip_groups_together():
    names = [f"class{i % 7}/file_{i}.mp4" for i in range(2000)]
    share = sum(fl.hash_split(n) == "test" for n in names) / len(names)
    assert 0.17 < share < 0.23
    for g in range(50):
        assert len({fl.hash_split(f"X/v_X_g{g:02d}_c{c:02d}.avi") for c in range(1, 6)}) == 1


def test_a_class_the_hash_leaves_untested_holds_out_one_group():
    from types import SimpleNamespace as Item

    train = [n for n in (f"a/v_a_g{g:02d}_c01.mp4" for g in range(40)) if fl.hash_split(n) == "train"][:3]
    items = [Item(path=n.replace("_c01", f"_c0{c}"), label="a", split="train") for n in train for c in (1, 2)]
    items += [Item(path="solo/one.mp4", label="solo", split="train")]  # one group: nothing to hold out
    fl.hold_out_every_class(items)
    held = [item.path for item in items if item.split == "test"]
    assert len(held) == 2 and len({fl.split_key(p) for p in held}) == 1, "one whole group, both its clips"
    again = [Item(path=i.path, label=i.label, split="train") for i in items]
    fl.hold_out_every_class(again)
    assert [i.split for i in again] == [i.split for i in items], "deterministic"


def test_missing_folder_and_default_cache(tmp_path, monkeypatch):
    with pytest.raises(readers.MediaError, match="folder not found"):
        scan_folder(tmp_path / "nope")
    monkeypatch.setenv("OMNIVEC_CACHE", str(tmp_path / "omni"))
    assert folders.default_cache_dir() == tmp_path / "omni" / "folders"
    (tmp_path / "one").mkdir()
    mf.make_png(tmp_path / "one" / "x.png")
    assert len(scan_folder(tmp_path / "one").items) == 1
    assert len(list((tmp_path / "omni" / "folders").rglob("*.safetensors"))) == 1


def test_command_line(clips, tmp_path, capsys):
    assert folders.main([str(clips), "--cache-dir", str(tmp_path / "c"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "layout: **clips**" in out and "`blue_up/cut.mp4`" in out
    assert folders.main([str(tmp_path / "missing"), "--quiet"]) == 2
    with pytest.raises(SystemExit) as exit_:
        folders.main(["--help"])
    assert exit_.value.code == 0 and "nothing is written into the folder" in " ".join(capsys.readouterr().out.split())


def test_example_folder_maker(tmp_path):
    from bench import make_example_folder as maker

    out = tmp_path / "example"
    assert maker.main(["--out", str(out), "--layouts", "sounds,meshes", "--per-class", "1"]) == 0
    sounds = scan_folder(out / "sounds", cache_dir=tmp_path / "cache")
    meshes = scan_folder(out / "meshes", cache_dir=tmp_path / "cache")
    assert sounds.layout == "sounds" and len(sounds.classes) >= 4 and not sounds.skipped
    assert meshes.layout == "meshes" and meshes.classes == ["box", "cone", "cylinder", "sphere"]
    assert not meshes.skipped and {item.split for item in meshes.items} == {"train", "test"}
