"""bench/foreign_media.py at a tiny scale on the bundled model: every medium makes files the readers take, every
group gets a score of each reader, the table prints and the JSON round-trips. No accuracy is asserted: the model
will change, the benchmark is how the change is measured."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnivec_core.data import readers
from omnivec_core.data.omnishapes import ATTRIBUTES

pytestmark = pytest.mark.model  # loads the bundled model and runs ffmpeg

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "checkpoints" / "omnivec-default"
KIND = {"picture": "image", "clip": "video", "mesh": "points", "tone": "audio"}
SHOWN = {"picture": {"shape", "colour"}, "clip": {"shape", "colour", "motion"}, "mesh": {"shape"}, "tone": {"colour"}}


from bench import foreign_media as fm  # noqa: E402  (after the constants the module's tests read)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("foreign")
    items = fm.generate(out, seed=fm.DEFAULT_SEED, per_group=1)
    return out, items, fm.score(items, BUNDLED)


def test_every_medium_makes_labelled_files_that_the_readers_take(made):
    _, items, _ = made
    assert {item.medium for item in items} == set(fm.MEDIA)
    for medium, (groups, _) in fm.FAMILIES.items():
        assert sorted({i.group for i in items if i.medium == medium}) == sorted(f"{medium}: {g}" if medium != "mesh"
                                                                                  else f"mesh: .{g}" for g in groups)
    for item in items:
        assert set(item.labels) == SHOWN[item.medium], item
        assert all(cls in ATTRIBUTES[a] for a, cls in {**item.labels, **item.heard}.items()), item
        loaded = readers.read_any(item.path)
        assert loaded.kind == KIND[item.medium], (item.path.name, loaded.kind)
        if item.heard:  # a clip with a tone track gives its sound too
            assert loaded.waveform is not None, item.path.name


def test_every_group_has_each_readers_score_on_what_it_shows(made):
    _, items, result = made
    expected = {i.group: SHOWN[i.medium] for i in items}
    expected.update({f"{i.group} (audio)": set(i.heard) for i in items if i.heard})
    assert set(result["groups"]) == set(expected)
    for row, attributes in expected.items():
        assert set(result["groups"][row]) == attributes, row
        for by_reader in result["groups"][row].values():
            assert set(by_reader) == set(fm.READERS), row  # the bundled model captions: all three readers
            for figure in by_reader.values():
                assert 0.0 <= figure["accuracy"] <= 1.0 and figure["n"] >= 1, (row, figure)
    assert sum(r["n"] for r in result["by_medium"]["picture"]["shape"].values()) == 3 * 8  # 3 readers x 8 groups
    assert len(result["items"]) == len(items)


def test_table_prints_and_json_round_trips(made, tmp_path, capsys):
    _, _, result = made
    printed = fm.report(result)
    for row in result["groups"]:
        assert f"| {row} |" in printed
    assert "| group | n | shape caption | shape zero-shot | shape heads |" in printed
    assert json.loads(json.dumps(result)) == result
    keep, saved = tmp_path / "files", tmp_path / "figures.json"
    fm.main(["--media", "tone", "--per-group", "1", "--out", str(keep), "--json", str(saved)])
    said = capsys.readouterr().out
    assert "| tone: sine | 1 |" in said and f"figures saved to {saved}" in said
    figures = json.loads(saved.read_text())
    assert set(figures["groups"]) == {"tone: sine", "tone: square", "tone: noisy"} and figures["per_group"] == 1
    assert len(list(keep.iterdir())) == 3


def test_items_depend_on_seed_and_number_only(tmp_path):
    """Item i of a group is the same file content whatever --per-group is: figures from runs of any size compare."""
    media = ("picture", "mesh", "tone")
    one = fm.generate(tmp_path / "a", seed=7, per_group=1, media=media)
    two = fm.generate(tmp_path / "b", seed=7, per_group=2, media=media)
    other = fm.generate(tmp_path / "c", seed=8, per_group=1, media=media)
    first_of_two = two[::2]  # items come group by group: item 0 of each group
    assert [(i.path.name, i.labels, i.facets) for i in one] == [(i.path.name, i.labels, i.facets)
                                                                 for i in first_of_two]
    for a, b in zip(one, first_of_two):
        assert readers.read_any(a.path).tensor.equal(readers.read_any(b.path).tensor), a.path.name
    assert [i.facets for i in one] != [i.facets for i in other]


def test_help_explains_the_benchmark(capsys):
    with pytest.raises(SystemExit) as done:
        fm.main(["--help"])
    assert done.value.code == 0
    said = capsys.readouterr().out
    assert "--per-group" in said and "zero-shot" in said and "--small" in said
