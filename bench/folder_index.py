"""How long indexing a folder of your own media takes, the first time and from the cache, and the memory
it needs: what `python launch.py --gallery DIR` does at start (read every file, embed it with the model).

    python -m bench.make_example_folder --out /tmp/bench-folder --layouts clips --per-class 63   # 1,008 clips
    python -m bench.folder_index /tmp/bench-folder/clips [--checkpoint DIR] [--runs 2]

Each run starts from an empty cache directory (a temporary OMNIVEC_CACHE), indexes the folder once
cold and then again from the cache, in a fresh process each, and prints seconds and peak resident memory.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE_PASS = """
import json, resource, sys, time
from pathlib import Path
start = time.perf_counter()
from omnivec_core.analysis.folder_gallery import load_folder_gallery
from omnivec_core.train.checkpoint import load_model
model, _ = load_model(Path(sys.argv[2]))
loaded = time.perf_counter()
gallery = load_folder_gallery(model, Path(sys.argv[2]), Path(sys.argv[1]))
done = time.perf_counter()
print(json.dumps({"items": gallery.n, "skipped": len(gallery.dataset.skipped), "cached": gallery.dataset.cached,
                  "index_s": done - loaded, "total_s": done - start,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def one_pass(folder: Path, checkpoint: Path, cache: Path) -> dict:
    env = {**os.environ, "OMNIVEC_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-c", ONE_PASS, str(folder), str(checkpoint)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"indexing failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a dataset folder (e.g. made by bench/make_example_folder.py)")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "omnivec-default")
    parser.add_argument("--runs", type=int, default=1, help="cold + cached pairs, each from an empty cache")
    args = parser.parse_args()
    print("| run | pass | items | skipped | from cache | index (s) | with start-up (s) | peak memory (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="omnivec-bench-cache-") as cache:
            for name in ("first", "cached"):
                r = one_pass(args.folder, args.checkpoint, Path(cache))
                print(f"| {run + 1} | {name} | {r['items']} | {r['skipped']} | {r['cached']} | {r['index_s']:.1f} | "
                      f"{r['total_s']:.1f} | {r['peak_mb']:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
