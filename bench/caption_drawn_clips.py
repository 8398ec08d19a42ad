"""Captions of clips another program drew: does the generation decoder name their colour and motion?

    python bench/caption_drawn_clips.py [--checkpoint DIR] [--per-pair 2] [--decoding greedy]

ffmpeg draws --per-pair 2-second clips for each of 4 colours x 4 directions (a square of the colour
crossing a black frame, with a tone; the drawing of bench/make_example_folder.py). Each is read as an
upload is (the media readers), captioned from its frames, and the caption parsed with OmniShapes' caption
parser. Prints a row per clip and the share whose caption names the drawn colour and the drawn direction,
with the caption time per clip (encode and decode, batch of one, after a warm-up clip) as the app pays it.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from make_example_folder import COLOURS, DIRECTIONS, clip_command  # noqa: E402

from omnivec_core.analysis.captioning import DECODINGS, caption  # noqa: E402
from omnivec_core.data import readers  # noqa: E402
from omnivec_core.data.omnishapes import parse_caption  # noqa: E402
from omnivec_core.modalities import REGISTRY  # noqa: E402
from omnivec_core.train.checkpoint import load_model  # noqa: E402


def draw_clips(out: Path, per_pair: int) -> list[tuple[Path, str, str]]:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        sys.exit("ffmpeg is not on the PATH: install it (Debian: apt install ffmpeg) to draw the clips")
    rng, clips = np.random.default_rng(7), []
    for colour in COLOURS:
        for direction in DIRECTIONS:
            for i in range(per_pair):
                path = out / f"{colour}_{direction}_{i}.mp4"
                subprocess.run(clip_command(ffmpeg, path, colour, direction, 2.0, 96, rng), check=True,
                               capture_output=True, timeout=120)
                clips.append((path, colour, direction))
    return clips


def caption_clip(model, path: Path, decoding: str) -> tuple[str, float]:
    video, _ = REGISTRY["video"].from_loaded(readers.read_any(path))
    start = time.perf_counter()
    text = caption(model, "video", video[None], decoding)[0]
    return text, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "omnivec-default")
    parser.add_argument("--per-pair", type=int, default=2, help="clips per colour and direction (default 2)")
    parser.add_argument("--decoding", choices=DECODINGS, default="greedy")
    args = parser.parse_args()
    model = load_model(args.checkpoint, torch.device("cpu"))[0].eval()
    if model.language is None:
        sys.exit(f"{args.checkpoint} has no text decoders: it cannot caption")
    with tempfile.TemporaryDirectory() as tmp:
        clips = draw_clips(Path(tmp), args.per_pair)
        caption_clip(model, clips[0][0], args.decoding)  # warm-up: first-call allocations are not a clip's cost
        rows = [(colour, direction, *caption_clip(model, path, args.decoding)) for path, colour, direction in clips]
    print(f"| drawn colour | drawn direction | caption ({args.decoding}) | colour | motion | s |\n|---|---|---|---|---|---|")
    named = {"colour": 0, "motion": 0}
    for colour, direction, text, seconds in rows:
        said = parse_caption(text)
        hits = {"colour": said.get("colour") == colour, "motion": said.get("motion") == direction}
        named = {k: named[k] + hits[k] for k in named}
        print(f"| {colour} | {direction} | {text} | {'yes' if hits['colour'] else 'no'} | "
              f"{'yes' if hits['motion'] else 'no'} | {seconds:.3f} |")
    times = [row[3] for row in rows]
    print(f"\n{len(rows)} clips drawn by ffmpeg: colour named right {named['colour'] / len(rows):.3f}, motion "
          f"{named['motion'] / len(rows):.3f}; caption time per clip median {statistics.median(times):.3f} s "
          f"(max {max(times):.3f} s), torch threads {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
