"""Make a small example dataset folder of "your own media", drawn by other programs than OmniShapes,
to try folder datasets (omnivec_core/data/folders.py) on:

    python -m bench.make_example_folder --out /tmp/example-folder            # clips, sounds and meshes
    python -m bench.make_example_folder --out DIR --layouts clips --per-class 5
    python -m omnivec_core.data.folders /tmp/example-folder/clips            # then read one back

clips/   UCF-101 style: 16 class folders (4 colours x 4 directions, e.g. red_left/), each with
         --per-class 2-second MP4s drawn by ffmpeg: a coloured square crossing a black frame, with a
         sine tone whose pitch is the colour's; plus clips/captions.csv ("a red square moving left").
sounds/  ESC-50 style: audio/{fold}-{id}-A-{target}.wav spoken words by espeak-ng (the word is the
         class, voices and speeds vary) and meta/esc50.csv (filename,fold,target,category,...).
meshes/  ModelNet style: {box,sphere,cylinder,cone}/{train,test}/*.off trimesh primitives, randomly
         stretched and turned; --per-class in train, a third as many (at least one) in test.

Needs ffmpeg (clips) and espeak-ng (sounds) on the PATH; it says so and stops when one is missing.
"""
from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

COLOURS = {"red": ("0xE61E1E", 330.0), "green": ("0x1EC81E", 440.0), "blue": ("0x1E46E6", 550.0),
           "yellow": ("0xE6D21E", 660.0)}  # name -> (ffmpeg colour, tone Hz)
DIRECTIONS = ("left", "right", "up", "down")
WORDS = ("dog", "rooster", "rain", "siren", "clock", "church_bells")  # ESC-50 categories, spoken
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-us+f2", "en-gb+m3", "en-us+f4", "en-gb+m7")
SHAPES = ("box", "sphere", "cylinder", "cone")
LAYOUTS = ("clips", "sounds", "meshes")
TOOLS = {"clips": "ffmpeg", "sounds": "espeak-ng"}


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()[-400:]}")


def clip_command(ffmpeg: str, path: Path, colour: str, direction: str, seconds: float, size: int,
                 rng: np.random.Generator) -> list[str]:
    """ffmpeg drawing a square of `colour` crossing a black frame towards `direction`, with a tone."""
    hex_colour, freq = COLOURS[colour]
    side = int(size * rng.uniform(0.18, 0.3))
    free = size - side
    across = f"{free}*t/{seconds:g}"                       # 0 -> free over the clip
    lane = int(free * rng.uniform(0.2, 0.8))               # where it crosses
    x, y = {"right": (across, lane), "left": (f"{free}-{across}", lane),
            "down": (lane, across), "up": (lane, f"{free}-{across}")}[direction]
    tone = freq * rng.uniform(0.97, 1.03)
    return [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-threads", "1",
            "-f", "lavfi", "-i", f"color=c=black:s={size}x{size}:r=25:d={seconds:g}",
            "-f", "lavfi", "-i", f"color=c={hex_colour}:s={side}x{side}:r=25:d={seconds:g}",
            "-f", "lavfi", "-i", f"sine=frequency={tone:.1f}:duration={seconds:g}:sample_rate=22050",
            "-filter_complex", f"[0:v][1:v]overlay=x='{x}':y='{y}':eval=frame:shortest=1,format=yuv420p[v]",
            "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
            "-shortest", str(path)]


def make_clips(out: Path, per_class: int, seconds: float, size: int, workers: int) -> int:
    ffmpeg = shutil.which("ffmpeg")
    rng = np.random.default_rng(0)
    jobs, captions = [], ["file,caption"]
    for colour in COLOURS:
        for direction in DIRECTIONS:
            folder = out / f"{colour}_{direction}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                name = f"v_{colour}_{direction}_g{i + 1:02d}_c01.mp4"
                jobs.append(clip_command(ffmpeg, folder / name, colour, direction, seconds, size, rng))
                captions.append(f"{colour}_{direction}/{name},a {colour} square moving {direction}")
                captions.append(f"{colour}_{direction}/{name},a {colour} box slides {direction} with a tone")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_run, jobs))
    (out / "captions.csv").write_text("\n".join(captions) + "\n")
    return len(jobs)


def make_sounds(out: Path, per_class: int, workers: int) -> int:
    espeak = shutil.which("espeak-ng")
    (out / "audio").mkdir(parents=True, exist_ok=True)
    (out / "meta").mkdir(parents=True, exist_ok=True)
    rows, jobs = ["filename,fold,target,category,esc10,src_file,take"], []
    for target, word in enumerate(WORDS):
        for i in range(per_class):
            fold, source = i % 5 + 1, 100 * target + i
            name = f"{fold}-{source}-A-{target}.wav"
            voice = VOICES[(target + i) % len(VOICES)]
            jobs.append([espeak, "-v", voice, "-s", str(140 + 15 * (i % 4)), "-p", str(35 + 10 * (i % 4)),
                         "-w", str(out / "audio" / name), word.replace("_", " ")])
            rows.append(f"{name},{fold},{target},{word},False,{source},A")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_run, jobs))
    (out / "meta" / "esc50.csv").write_text("\n".join(rows) + "\n")
    return len(jobs)


def make_meshes(out: Path, per_class: int) -> int:
    import trimesh

    rng = np.random.default_rng(0)
    count = 0
    for shape in SHAPES:
        for split, n in (("train", per_class), ("test", max(1, math.ceil(per_class / 3)))):
            (out / shape / split).mkdir(parents=True, exist_ok=True)
            for _ in range(n):
                mesh = {"box": lambda: trimesh.creation.box(extents=rng.uniform(0.4, 2.0, 3)),
                        "sphere": lambda: trimesh.creation.icosphere(subdivisions=2),
                        "cylinder": lambda: trimesh.creation.cylinder(radius=rng.uniform(0.3, 1.0),
                                                                      height=rng.uniform(0.5, 2.5)),
                        "cone": lambda: trimesh.creation.cone(radius=rng.uniform(0.3, 1.0),
                                                              height=rng.uniform(0.5, 2.5))}[shape]()
                mesh.apply_scale(rng.uniform(0.8, 1.25, 3) if shape == "sphere" else rng.uniform(0.5, 2.0))
                mesh.apply_transform(trimesh.transformations.random_rotation_matrix(rng.random(3)))
                count += 1
                mesh.export(str(out / shape / split / f"{shape}_{count:04d}.off"), file_type="off")
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder to create (one sub-folder per layout)")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help=f"comma-separated, of {', '.join(LAYOUTS)}")
    parser.add_argument("--per-class", type=int, default=3, help="items per class (default 3)")
    parser.add_argument("--seconds", type=float, default=2.0, help="clip length in seconds (default 2)")
    parser.add_argument("--size", type=int, default=96, help="clip frame side in pixels, >= 64 (default 96)")
    parser.add_argument("--workers", type=int, default=2, help="ffmpeg / espeak-ng processes at once (default 2)")
    parser.add_argument("--force", action="store_true", help="replace a layout folder that is already there")
    args = parser.parse_args(argv)
    layouts = [x.strip() for x in args.layouts.split(",") if x.strip()]
    unknown = [x for x in layouts if x not in LAYOUTS]
    if unknown or not layouts:
        parser.error(f"unknown layouts {unknown}; choose from {', '.join(LAYOUTS)}")
    if args.per_class < 1 or args.size < 64 or args.seconds < 1.0:
        parser.error("--per-class must be >= 1, --size >= 64 and --seconds >= 1")
    missing = [TOOLS[x] for x in layouts if x in TOOLS and shutil.which(TOOLS[x]) is None]
    if missing:
        print(f"error: {' and '.join(missing)} not found on the PATH; install {' '.join(missing)} "
              f"(Debian/Ubuntu: apt-get install {' '.join(missing)}) or leave out "
              f"{', '.join(x for x in layouts if TOOLS.get(x) in missing)}", file=sys.stderr)
        return 2
    for layout in layouts:
        folder = args.out / layout
        if folder.exists() and any(folder.iterdir()):
            if not args.force:
                print(f"error: {folder} already exists and is not empty; use --force to replace it", file=sys.stderr)
                return 2
            shutil.rmtree(folder)
    try:
        for layout in layouts:
            folder = args.out / layout
            folder.mkdir(parents=True, exist_ok=True)
            if layout == "clips":
                n = make_clips(folder, args.per_class, args.seconds, args.size, args.workers)
            elif layout == "sounds":
                n = make_sounds(folder, args.per_class, args.workers)
            else:
                n = make_meshes(folder, args.per_class)
            print(f"{layout}: {n} files in {folder}")
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
