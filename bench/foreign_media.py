"""Foreign media: how well a model reads pictures, mesh files, clips and tones that OTHER programs made (PIL,
ImageMagick, matplotlib, trimesh, ffmpeg, sox), not OmniShapes' renderer.

    python -m bench.foreign_media [--checkpoint DIR] [--seed 31337] [--per-group 24] [--out DIR] [--json PATH]
    python -m bench.foreign_media --small          # 2 items a group: a smoke run well under a minute

The files (bench/foreign_generators.py and foreign_mesh_clip_tone.py draw them) fall in groups, a medium and what varies most in it:
  pictures by background: dark, white, paper, light grey, mid grey, gradient, noise, pattern (stripes or checks);
           drawn in turn by PIL, ImageMagick and matplotlib, filled or outlined, 25-80 % of the frame, PNG or JPEG
  mesh files by format: .ply .obj .stl .off .glb, of the 8 solids from trimesh.creation, scaled 0.01-100, as
           trimesh makes them (its axes, not OmniShapes'), turned about one axis, or in any orientation
  clips by background: dark, white, gradient; a shape moving in one of the 8 motions, 1-2 s at 12-30 fps,
           96-256 px, H.264 .mp4 / VP8 .webm / MPEG-4 .avi; every other clip with a sine tone at its colour's pitch
  tones by waveform: sine, square, noisy (either under pink or white noise), at a colour's pitch, by sox or ffmpeg
Every file is read as the app reads an upload (readers.read_any, then omnivec_app.inputs.query_inputs: a clip gives its
frames and, with a sound track, its sound) and each modality it gives is asked, on every attribute the file
shows and the modality observes (shape, colour, motion), by three readers of the model:
  caption    the generation decoder's greedy caption, parsed by OmniShapes' caption parser (naming no class of
             the attribute, or two, counts as wrong)
  zero-shot  the nearest class prompt in the shared space (analysis.predictions.predict: zero_shot)
  heads      the task head's most probable class (analysis.predictions.predict: attributes)
Chance is 1/8 everywhere. A clip's sound is scored on colour alone, in its own row ("clip: dark (audio)").
--json keeps every figure and every item's answers. Importable: generate(out_dir, seed, per_group) and
score(items, checkpoint, device).

Needs ffmpeg. sox, ImageMagick and matplotlib are used where installed: without sox ffmpeg makes every tone,
without the other two PIL draws their pictures (a warning says so, and each such item's facets name both makers),
so the files' classes and geometry never depend on the machine. The same seed gives the same model inputs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import torch

from bench.foreign_generators import BACKGROUNDS, ForeignItem, find_tools, make_picture
from bench.foreign_mesh_clip_tone import CLIP_BACKGROUNDS, MESH_FORMATS, TONE_KINDS, make_clip, make_mesh, make_tone
from omnivec_app.inputs import query_inputs
from omnivec_core.analysis.captioning import caption
from omnivec_core.analysis.predictions import predict
from omnivec_core.data import readers
from omnivec_core.data.omnishapes import parse_caption
from omnivec_core.evaluation import pairs
from omnivec_core.modalities import REGISTRY
from omnivec_core.train.checkpoint import load_model

ROOT = Path(__file__).resolve().parents[1]
__all__ = ["ForeignItem", "generate", "score", "table", "MEDIA"]

DEFAULT_CHECKPOINT = ROOT / "checkpoints" / "omnivec-default"
DEFAULT_SEED = 31337
DEFAULT_PER_GROUP = 24
SMALL_PER_GROUP = 2
# medium -> (its groups, the function that makes item i of a group)
FAMILIES = {"picture": (BACKGROUNDS, make_picture), "mesh": (MESH_FORMATS, make_mesh),
            "clip": (CLIP_BACKGROUNDS, make_clip), "tone": (TONE_KINDS, make_tone)}
MEDIA = tuple(FAMILIES)
MAIN_MODALITY = {"picture": "image", "clip": "video", "mesh": "points", "tone": "audio"}
ATTRIBUTES = ("shape", "colour", "motion")
READERS = ("caption", "zero-shot", "heads")
CHANCE = 1 / 8
# facets worth a breakdown row (the rest, such as fps or canvas size, are in each item's record of the JSON)
BREAKDOWN = {"picture": ("maker", "style", "format"), "mesh": ("pose", "scale", "encoding"),
             "clip": ("codec", "sound track"), "tone": ("maker", "wave", "format")}


def generate(out_dir: Path, seed: int = DEFAULT_SEED, per_group: int = DEFAULT_PER_GROUP,
             media: tuple[str, ...] = MEDIA) -> list[ForeignItem]:
    """Make `per_group` files for every group of every medium in `out_dir`; item i of a group depends only on
    (seed, group, i). A picture maker this machine lacks is replaced by PIL, with a warning and a facet."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tools = find_tools()
    missing = [name for name in ("imagemagick", "matplotlib") if "picture" in media and not tools[name]]
    if missing:
        warnings.warn(f"{' and '.join(missing)} not found: PIL draws their pictures instead (install ImageMagick "
                      f"(Debian: imagemagick) and matplotlib for the full set)", stacklevel=2)
    items = []
    for medium in media:
        groups, make = FAMILIES[medium]
        items += [make(out_dir, seed, group, i, tools) for group in groups for i in range(per_group)]
    return items


# ---- scoring ----

@contextmanager
def prompts_embedded_once():
    """The app embeds every class prompt anew for each query (analysis.pairs.prompt_embeddings), which is most of
    a zero-shot label's cost; the embeddings depend only on the model, attribute and space, so for the run the
    bench keeps the first result of each: the same tensors, the same labels, a fraction of the time."""
    original, kept = pairs.prompt_embeddings, {}

    def embed_once(model, attribute, space):
        key = (id(model), attribute, space)
        if key not in kept:
            kept[key] = original(model, attribute, space)
        return kept[key]
    pairs.prompt_embeddings = embed_once
    try:
        yield
    finally:
        pairs.prompt_embeddings = original


def asked(item: ForeignItem, modality: str) -> dict[str, str]:
    """Attribute -> true class, for the attributes this modality of the file can tell: what the picture, clip or
    mesh shows for its own modality, what the sound track tells for a clip's audio."""
    truth = item.labels if modality == MAIN_MODALITY[item.medium] else item.heard
    return {a: c for a, c in truth.items() if a in REGISTRY[modality].observes and a in ATTRIBUTES}


def row_of(item: ForeignItem, modality: str) -> str:
    return item.group if modality == MAIN_MODALITY[item.medium] else f"{item.group} ({modality})"


def answers(model, modality: str, x) -> dict:
    """What each reader of the model says of one input (a batch of one), the calls the app makes; with how sure
    the heads (top probability) and the zero-shot labels (cosine) are, for whoever calibrates on this set."""
    said = caption(model, modality, x, "greedy")[0] if model.language is not None else None
    predictions = predict(model, modality, x)
    parsed = parse_caption(said) if said is not None else {}
    top = predictions.top()
    return {"caption text": said,
            "caption": {a: parsed.get(a) for a in predictions.attributes} if said is not None else {},
            "zero-shot": {a: name for a, (name, _) in predictions.zero_shot.items()},
            "heads": {a: name for a, (name, _) in top.items()},
            "zero-shot cosine": {a: cosine for a, (_, cosine) in predictions.zero_shot.items()},
            "heads probability": {a: probability for a, (_, probability) in top.items()}}


@torch.no_grad()
def read_item(model, item: ForeignItem, root: Path, device: torch.device) -> dict:
    """One file read as an upload (only from `root`, as the app only reads its upload folder) and asked by every
    reader; its record for the JSON."""
    loaded = readers.read_any(item.path, allowed_roots=[root])
    inputs, notes = query_inputs(loaded)
    record = {"file": item.path.name, "medium": item.medium, "group": item.group, "labels": item.labels,
              "heard": item.heard, "facets": item.facets, "notes": notes, "modalities": {}}
    for modality, x in inputs.items():
        if modality in model.cfg.modalities and asked(item, modality):
            record["modalities"][modality] = answers(model, modality, x[None].to(device))
    return record


def tally(records: list[dict], items: list[ForeignItem], key) -> dict:
    """key(item, modality) -> row name (or None to leave out); row -> attribute -> reader -> accuracy and n."""
    hits = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for item, record in zip(items, records):
        for modality, said in record["modalities"].items():
            row = key(item, modality)
            if row is None:
                continue
            for attribute, truth in asked(item, modality).items():
                for reader in READERS:
                    if attribute in said[reader]:  # a reader the model lacks (no text decoders) is left out
                        hits[row][attribute][reader].append(said[reader].get(attribute) == truth)
    return {row: {a: {r: {"accuracy": sum(v) / len(v), "n": len(v)} for r, v in by_reader.items()}
                  for a, by_reader in by_attribute.items()} for row, by_attribute in hits.items()}


def facet_order(row: tuple[str, dict]):
    """Rows of one facet in the order of their values: numbers (a mesh's scale, 1e-2 .. 1e+2) as numbers."""
    value = row[0].rpartition(": ")[2]
    try:
        return 0, float(value), value
    except ValueError:
        return 1, 0.0, value


def score(items: list[ForeignItem], checkpoint: Path = DEFAULT_CHECKPOINT, device: str = "cpu",
          progress=None) -> dict:
    """Read every item with the model in `checkpoint`; per-group accuracies of each reader on each attribute
    ("groups": group -> attribute -> reader -> {"accuracy", "n"}), the same per medium ("by_medium") and per way
    of making ("by_facet"), and every item's answers ("items"). `progress(done, total)` is called as items go."""
    start, device = time.perf_counter(), torch.device(device)
    model = load_model(Path(checkpoint), device)[0].eval()
    records = []
    with prompts_embedded_once():
        for item in items:
            records.append(read_item(model, item, item.path.parent.resolve(), device))
            if progress is not None:
                progress(len(records), len(items))
    def medium_row(item, m):
        return item.medium if m == MAIN_MODALITY[item.medium] else f"{item.medium} ({m})"

    def facet_key(medium, name):
        return lambda item, m: (f"{medium} · {name}: {item.facets[name]}" if item.medium == medium
                                and m == MAIN_MODALITY[medium] and name in item.facets else None)
    facets = {}
    for medium, names in BREAKDOWN.items():
        for name in names:
            facets.update(sorted(tally(records, items, facet_key(medium, name)).items(), key=facet_order))
    return {"checkpoint": str(checkpoint), "device": str(device), "chance": CHANCE, "attributes": list(ATTRIBUTES),
            "readers": list(READERS), "groups": tally(records, items, row_of),
            "by_medium": tally(records, items, medium_row), "by_facet": facets, "items": records,
            "seconds": round(time.perf_counter() - start, 1)}


# ---- the table ----

def cell(scores: dict, attribute: str, reader: str, n_row: int) -> str:
    figure = scores.get(attribute, {}).get(reader)
    if figure is None:
        return "-"
    return f"{figure['accuracy']:.2f}" + ("" if figure["n"] == n_row else f" ({figure['n']})")


def table(rows: dict[str, dict], title: str = "group") -> str:
    """Markdown: a row per group, a column per attribute and reader (accuracy; n once per row, or beside a
    figure whose n differs from the row's)."""
    columns = [(a, r) for a in ATTRIBUTES for r in READERS if any(a in s for s in rows.values())]
    lines = [f"| {title} | n | " + " | ".join(f"{a} {r}" for a, r in columns) + " |",
             "|---|---:|" + "---:|" * len(columns)]
    for row, scores in rows.items():
        n_row = max((f["n"] for by_reader in scores.values() for f in by_reader.values()), default=0)
        lines.append(f"| {row} | {n_row} | " + " | ".join(cell(scores, a, r, n_row) for a, r in columns) + " |")
    return "\n".join(lines)


def report(result: dict) -> str:
    return "\n\n".join([
        f"Foreign media read by {result['checkpoint']} (accuracy; chance {result['chance']:.3f}; caption: the "
        f"greedy caption parsed, zero-shot: nearest class prompt, heads: task heads)",
        table(result["groups"]), table(result["by_medium"], "medium"), table(result["by_facet"], "made by / as"),
        f"{len(result['items'])} files, scored in {result['seconds']} s"])


def show_progress(done: int, total: int) -> None:
    if done % 50 == 0 or done == total:
        print(f"scored {done}/{total} files", file=sys.stderr, flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                        help="model directory (default checkpoints/omnivec-default)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generators' seed (default {DEFAULT_SEED})")
    parser.add_argument("--per-group", type=int, default=None,
                        help=f"files per group (default {DEFAULT_PER_GROUP}; a multiple of 8 balances the classes)")
    parser.add_argument("--small", action="store_true", help=f"{SMALL_PER_GROUP} files per group: a quick smoke run")
    parser.add_argument("--media", default=",".join(MEDIA), help=f"comma-separated subset of {', '.join(MEDIA)}")
    parser.add_argument("--out", type=Path, help="keep the generated files in this folder (default: a temp folder, "
                                                 "deleted afterwards)")
    parser.add_argument("--json", type=Path, help="save every figure and every item's answers here")
    parser.add_argument("--device", default="cpu", help="torch device for the model (default cpu)")
    args = parser.parse_args(argv)
    media = tuple(m.strip() for m in args.media.split(",") if m.strip())
    unknown = [m for m in media if m not in MEDIA]
    if unknown or not media:
        parser.error(f"--media takes a comma-separated subset of {', '.join(MEDIA)}; got {args.media!r}")
    per_group = args.per_group if args.per_group is not None else SMALL_PER_GROUP if args.small else DEFAULT_PER_GROUP
    if per_group < 1:
        parser.error("--per-group must be at least 1")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or min(2, os.cpu_count() or 1)))
    with tempfile.TemporaryDirectory(prefix="foreign-media-") as scratch:
        out = args.out or Path(scratch)
        started = time.perf_counter()
        items = generate(out, args.seed, per_group, media)
        made = time.perf_counter() - started
        result = score(items, args.checkpoint, args.device, progress=show_progress)
    result.update(seed=args.seed, per_group=per_group, media=list(media), generation_seconds=round(made, 1),
                  folder=str(args.out.resolve()) if args.out else None,
                  tools={name: bool(path) for name, path in find_tools().items()})
    print(report(result))
    print(f"generated in {made:.1f} s (seed {args.seed}, {per_group} per group)"
          + (f"; files kept in {args.out}" if args.out else ""))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
        print(f"figures saved to {args.json}")


if __name__ == "__main__":
    main()
