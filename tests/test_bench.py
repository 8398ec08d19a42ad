"""Smoke tests of the maintained benchmarks in bench/: each runs its real code path at tiny arguments, as
`python -m bench.NAME` from the repository root (or through its `main(argv)`), and checks the table it prints.
They assert what the script promises, never how fast anything is. Covered elsewhere: foreign_media
(test_foreign_media.py), pair_gains and held_out_delta (test_pairs.py),
make_example_folder (test_folders.py); media_factory, foreign_generators and foreign_mesh_clip_tone are
libraries of those."""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omnivec_core.modalities import MODALITIES

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "checkpoints" / "omnivec-default"
NUMBER = r"-?[0-9][0-9,]*\.?[0-9]*"


def run_bench(name: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m bench.NAME ARGS` from the repository root, in its own process group: whatever it started
    (an app server) goes with it if the test is stopped. Fails the test on a non-zero exit."""
    process = subprocess.Popen([sys.executable, "-m", f"bench.{name}", *map(str, args)], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = process.communicate()
    finally:
        if process.poll() is None:  # stopped from outside (the per-test timeout): take its children too
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, f"bench.{name} exited {process.returncode}:\n{stderr[-4000:]}"
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def row(text: str, label: str) -> list[str]:
    """The fields after `label` on the line of `text` that starts with it."""
    lines = [line for line in text.splitlines() if line.startswith(label)]
    assert len(lines) == 1, f"expected one line starting {label!r} in:\n{text}"
    return lines[0][len(label):].split()


def numbers(fields: list[str]) -> list[float]:
    return [float(f.replace(",", "")) for f in fields]


def measured(fields: list[str]) -> bool:
    """Times and rates as printed: finite, not negative, not all zero (a rate at a tiny batch on a busy
    machine may round to 0)."""
    values = numbers(fields)
    return all(math.isfinite(x) and x >= 0 for x in values) and any(x > 0 for x in values)


@pytest.fixture
def checkpoint_copy(tmp_path) -> Path:
    """The bundled model in a scratch directory: what the app caches beside a checkpoint (maps, galleries)
    lands there, not in checkpoints/."""
    return Path(shutil.copytree(BUNDLED, tmp_path / "omnivec-default"))


# ------------------------------------------------------------------ fast: no training, no server

def test_model_sizes_counts_the_chosen_presets(capsys):
    from bench import model_sizes
    from omnivec_core.config import preset

    model_sizes.main(["--presets", "tiny"])
    out = capsys.readouterr().out
    header, *rows = out.strip().splitlines()
    assert header.split() == ["preset", "width", "depth", "heads", *model_sizes.PARTS, "trainable", "frozen"]
    assert len(rows) == 1, "only the preset asked for"
    fields = row(out, "tiny ")
    cfg = preset("tiny").model
    assert [int(f) for f in fields[:3]] == [cfg.width, cfg.depth, cfg.heads]
    millions = [float(f.rstrip("M")) for f in fields[3:]]
    *parts, trainable, frozen = millions
    assert len(parts) == len(model_sizes.PARTS) and all(p >= 0 for p in parts)
    assert trainable > 1 and trainable == pytest.approx(sum(parts), abs=0.01 * len(parts))
    assert frozen == 0, "the tiny preset learns its text stem (no frozen MiniLM)"


def test_eval_tables_prints_the_model_cards_tables(capsys):
    from bench import eval_tables

    reports = [BUNDLED / "eval.json", BUNDLED / "eval-validation.json"]
    first, second = (json.loads(p.read_text()) for p in reports)
    eval_tables.main([str(p) for p in reports])
    out = capsys.readouterr().out
    assert f"| measure | seed {first['seed']} | seed {second['seed']} |" in out
    assert len(row(out, "| mean attribute P@1, every pair |")) == 4  # two seeds, each `value |`
    for title in ("Linear-probe accuracy", f"Instance retrieval R@1 among {first['n']} events", "Attribute precision@1",
                  "Zero-shot accuracy", "MAE reconstruction"):
        assert title in out
    modalities = list(first["linear_probe"])
    assert "| query \\ target | " + " | ".join(modalities) + " |" in out
    for m in modalities:
        assert out.count(f"\n| {m} | ") >= 3, f"{m} has a row in the probe and both matrices"
    assert ("Greedy captions" in out) == ("captioning" in first)
    with pytest.raises(SystemExit, match="no such report"):
        eval_tables.main([str(BUNDLED / "no-such-eval.json")])


@pytest.mark.model
def test_text_decoders_reports_captions_and_reranking(capsys, tmp_path):
    from bench import text_decoders

    assert text_decoders.main([str(BUNDLED), "--n", "24"]) == 0
    out = capsys.readouterr().out
    assert "seed 31337, 24 events" in out
    line = out.split(f"| {BUNDLED} | ")[1].splitlines()[0]
    shares = [float(x) for x in re.findall(r"[0-9]+\.[0-9]{3}", line)]
    assert len(shares) == 8 and all(0 <= x <= 1 for x in shares)  # four video attributes, audio, imu, two P@1
    (tmp_path / "config.json").write_text("{}")
    assert text_decoders.main([str(tmp_path), "--n", "4"]) == 2
    assert "is not a model directory" in capsys.readouterr().err


@pytest.mark.model
def test_out_of_world_calibrates_every_modality(tmp_path):
    result = run_bench("out_of_world", "--events", 32, "--per-group", 1, "--spaces", "vector",
                       "--json", tmp_path / "oow.json")
    figures = json.loads((tmp_path / "oow.json").read_text())["vector"]
    assert set(figures) == set(MODALITIES) and re.search(r"held-out OmniShapes +32 ", result.stdout)
    for modality, f in figures.items():
        somewhat, unlike = f["thresholds"]
        assert 0 <= somewhat <= unlike <= 1 and 0 <= f["auroc_all"] <= 1, modality
    refused = subprocess.run([sys.executable, "-m", "bench.out_of_world", "--seed", "424242"], cwd=ROOT,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "424242 is the test seed" in refused.stderr


def test_omnishapes_speed_times_every_modality(capsys):
    from bench import omnishapes_speed
    from omnivec_core.data.omnishapes import MODALITIES

    assert omnishapes_speed.main(["--batch", "4", "--repeats", "1", "--threads", "0"]) == 0
    out = capsys.readouterr().out
    assert "batch 4, best of 1" in out
    for label in (*MODALITIES, f"all {len(MODALITIES)}"):
        fields = row(out, f"{label} ")
        assert len(fields) == 2 and measured(fields), f"{label}: ms/batch and events/s"


# ------------------------------------------------------------------ model: trains or loads a model

@pytest.mark.model
def test_cpu_footprint_at_a_tiny_batch():
    from omnivec_core.config import MODALITIES, preset
    from omnivec_core.modalities import CAPTIONS

    out = run_bench("cpu_footprint", "--repeats", "1", "--batch", "4").stdout
    config = preset("tiny")
    title, steps, per_modality, encode, memory = out.strip().split("\n\n")
    assert title.startswith("tiny preset on CPU, 2 threads")
    for stage in config.train.stages:
        fields = row(steps, f"{stage.name} ")
        assert fields[0] == "4" and len(fields) == 5 and measured(fields), f"stage {stage.name}"
    assert per_modality.startswith("one training batch of 4")
    for m in config.model.modalities:
        fields = row(per_modality, f"{m} (") if m == CAPTIONS else row(per_modality, f"{m} ")
        assert numbers(fields[-1:])[0] >= 0, f"{m} fwd+bwd"
    for m in MODALITIES:
        fields = row(encode, f"{m} ")
        assert len(fields) == 3 and measured(fields), f"{m} encode latency"
    assert int(re.fullmatch(r"peak resident memory: (\d+) MiB", memory).group(1)) > 0


@pytest.mark.model
def test_sample_replication_at_two_steps():
    done = run_bench("sample_replication", "--replicas", "1", "2", "--steps", "2", "--batch", "4", "--every", "1",
                     "--events", "4", "--modalities", "image", "video")
    out = done.stdout
    assert out.startswith("MAE alone, tiny model on image, video: batch 4, 2 steps, held-out relative MAE loss "
                          "on 4 events every 1 steps; target ")
    assert "(n=1 halfway)" in out
    for replicas, per_step in ((1, 4), (2, 2)):
        fields = row(out, f"{replicas:>8} ")
        assert int(fields[0]) == per_step, "a step renders batch / n events"
        final = float(fields[-1])
        assert math.isfinite(final) and final > 0
    assert "step 1:" in done.stderr and "step 2:" in done.stderr, "the curves are printed as they go"


@pytest.mark.model
def test_train_throughput_every_row_on_the_cpu():
    out = run_bench("train_throughput", "--device", "cpu", "--no-compile", "--batch", "2", "--warmup", "0",
                    "--repeats", "1").stdout
    assert "peak measured with a large fp32 matmul" in out
    expected = ["OmniVec base, image (64 tokens)", "OmniVec base, video (256 tokens)", "OmniVec base, all 7 modalities",
                *(f"MAE step, video, {r}% masked" for r in (0, 75, 90, 95)),
                *(f"DropToken {r}%, video" for r in (0, 25, 50, 75))]
    for name in expected:
        fields = row(out, name + " ")
        assert len(fields) == 3 and measured(fields[::2]) and fields[1].endswith("%"), name
    assert out.count("timm ViT, same shape") == 2 and out.count("ratio OmniVec / timm") == 2
    assert numbers(row(out, "renderer, every modality, share of a DropToken-0 step")[:1])[0] >= 0
    assert "compiled" not in out


@pytest.mark.model
def test_plan_ablation_at_three_steps(tmp_path):
    from omnivec_core.config import ExperimentConfig

    out = run_bench("plan_ablation", "--study", "decoupled", "--steps", "3", "--events", "32",
                    "--work", tmp_path).stdout
    assert out.startswith("decoupled: validation seed 31337, 32 events")
    assert "| measure | joint | decoupled |" in out
    for measure in ("mean attribute P@1", "mean instance R@1"):
        fields = row(out, f"| {measure} |")
        assert len(fields) == 4 and all(0 <= float(f) <= 1 for f in fields[::2]), measure
    for kind in ("attribute P@1 ", "instance R@1 ", "zero-shot "):
        assert f"\n| {kind}" in out, kind
    for variant in ("joint", "decoupled"):
        run = tmp_path / f"decoupled-{variant}"
        assert ExperimentConfig.load(run / "config.json").train.total_steps == 3
        assert (run / "model.safetensors").is_file() and (run / "eval-31337-32.json").is_file()


@pytest.mark.model
def test_folder_index_cold_then_cached(tmp_path):
    from bench import make_example_folder

    assert make_example_folder.main(["--out", str(tmp_path), "--layouts", "meshes", "--per-class", "1"]) == 0
    files = len(list((tmp_path / "meshes").rglob("*.off")))
    out = run_bench("folder_index", tmp_path / "meshes", "--runs", "1").stdout
    assert "| run | pass | items | skipped | from cache |" in out
    first, cached = row(out, "| 1 | first |"), row(out, "| 1 | cached |")
    cells = lambda fields: [f for f in fields if f != "|"]  # items, skipped, from cache, index s, total s, peak MB
    first, cached = cells(first), cells(cached)
    assert int(first[0]) == int(cached[0]) == files and first[1] == cached[1] == "0"
    assert int(first[2]) == 0 and int(cached[2]) == files, "the second pass reads every file from the cache"
    assert measured(first[4:]) and measured(cached[4:])


@pytest.mark.model
def test_explain_deletion_on_two_modalities():
    out = run_bench("explain_deletion", "--events", "4", "--modalities", "image", "text", "--fractions", "0", "0.2",
                    "--occlusion", "1").stdout
    assert out.startswith("deletion test: omnivec-default, validation seed 31337, 4 events per pair, 1 pairs")
    for m in ("image", "text"):
        for ranked in ("attributed", "random", "occlusion"):
            fields = [f for f in out.splitlines() if f.split()[:2] == [m, ranked]]
            assert len(fields) == (1 if ranked == "occlusion" else 2), (m, ranked)
            assert all(numbers(f.split()[2:3]) == [0.0] and math.isfinite(float(f.split()[3])) for f in fields)
    assert "| hidden \\ partner | image | text |" in out
    assert re.search(r"attribution beats random at 20% hidden: \d of 2 modalities", out)
    done = subprocess.run([sys.executable, "-m", "bench.explain_deletion", "--seed", "424242"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "test seed" in done.stderr


# ------------------------------------------------------------------ app: a live server through gradio_client

def _app_runs() -> set[Path]:
    return set((ROOT / "runs").glob("app-*"))


def _remove_run_when_done(run: Path, timeout: float = 180) -> None:
    """Wait for the trainer writing into `run` (its --out) to exit, then remove the directory."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        writers = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                writers += [cmdline] if str(run).encode() in cmdline.read_bytes() else []
            except OSError:
                pass
        if not writers:
            break
        time.sleep(1)
    shutil.rmtree(run, ignore_errors=True)


@pytest.mark.app
def test_app_latency_at_one_repeat(checkpoint_copy):
    before = _app_runs()
    try:
        out = run_bench("app_latency", "--checkpoint", checkpoint_copy, "--repeats", "1", "--events", "50").stdout
    finally:  # the run /train started in runs/ (the app's), once its trainer has stopped
        ours = []
        for run in sorted(_app_runs() - before):
            try:
                plan = json.loads((run / "requested_config.json").read_text())
            except (OSError, ValueError):
                continue
            if plan["model"]["modalities"] == ["image", "video", "audio", "text"] and \
                    sum(s["steps"] for s in plan["train"]["stages"]) == 200:
                ours.append(run)
                _remove_run_when_done(run)
    assert len(ours) == 1, "/train started one run of the plan it sent"
    assert out.splitlines()[0].split() == ["call", "first", "(s)", "median", "(s)"]
    labels = ["ready to serve after start", "/retrieve, 2 s clip, answer (previews as URLs)",
              "/retrieve, 2 s clip, answer + its 13 preview files fetched", "/reconstruct, image, 75% masked",
              "/embedding_map, pca, 300 points", "/embedding_map, tsne, 300 points", "/embedding_map, umap, 300 points",
              "/sample while training in the background"]
    for label in labels:
        fields = row(out, label)
        assert len(fields) == 2 and measured(fields), label
    assert len(out.strip().splitlines()) == 1 + len(labels)


@pytest.mark.app
def test_first_query_one_run(checkpoint_copy):
    out = run_bench("first_query", "--checkpoint", checkpoint_copy, "--runs", "1").stdout
    assert "HTTP 200 after start (s)" in out and "first /retrieve (s)" in out
    for label in ("1 ", "median "):
        fields = row(out, label)
        assert len(fields) == 2 and measured(fields), label


@pytest.fixture
def timeline_run(tmp_path) -> Path:
    """A tiny training of 3 steps of 4 events with a timeline snapshot at its start and its end."""
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "omnivec_core.train", "--preset", "tiny", "--steps", "3",
                           "--batch-size", "4", "--timeline-every", "3", "--device", "cpu", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    assert (out / "timeline.safetensors").is_file()
    return out


@pytest.mark.app
def test_timeline_scrub_through_every_snapshot(timeline_run, tmp_path):
    out = run_bench("timeline_scrub", timeline_run).stdout
    assert re.fullmatch(rf"{re.escape(str(timeline_run))}: 2 snapshots; /timeline_load {NUMBER} s; one slider step "
                        rf"\(/timeline_map\) median {NUMBER} ms, max {NUMBER} ms over 2 steps\n", out), out
    empty = tmp_path / "no-timeline"
    empty.mkdir()
    done = subprocess.run([sys.executable, "-m", "bench.timeline_scrub", str(empty)], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 1 and "has no timeline.safetensors" in done.stderr


@pytest.mark.app
def test_classroom_load_with_three_students(checkpoint_copy):
    out = run_bench("classroom_load", "--checkpoint", checkpoint_copy, "--students", "3", "--seconds", "10",
                    "--events", "50").stdout
    assert out.splitlines()[1].split() == ["action", "answered", "errors", "p50", "(s)", "p95", "(s)", "max", "(s)"]
    for label in ("sentence query", "clip query", "caption", "all"):
        answered, errors, *times = row(out, label)
        assert int(errors) == 0, f"{label}: a student saw an error:\n{out}"
        assert int(answered) == 0 or measured(times), label
    assert int(row(out, "all")[0]) >= 3, "every student asked at least once in 10 s"


@pytest.mark.model
def test_lesson_at_six_steps(tmp_path):
    out = run_bench("lesson", "--steps", "6", "--n", "50", "--out", tmp_path / "lesson").stdout
    assert "lesson preset" in out and "trained in" in out
    for label in ("text->video attribute P@1", "video->audio R@1"):
        value, target = numbers(row(out, label))
        assert 0 <= value <= 1 and target == 0.7, label
    assert numbers(row(out, "timeline snapshots")) == [7, 20], "a snapshot at every step of six, and the first"
    assert (tmp_path / "lesson" / "model.safetensors").is_file()


def test_every_bench_script_is_run_by_a_test():
    """Each maintained benchmark is named by a test (run, imported, or its main called) or is a library of one."""
    tests = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    names = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if p.stem != "__init__")
    named = {n for n in names if re.search(rf"bench[./]{n}\b|run_bench\(\"{n}\"|from bench import {n}\b", tests)}
    libraries = {n for n in names for user in named
                 if re.search(rf"from bench(\.{n} import| import {n}\b)", (ROOT / "bench" / f"{user}.py").read_text())}
    assert set(names) - named - libraries == set()
