"""How fast the Embedding map tab scrubs a run's timeline, as a user meets it through the app.

    python -m omnivec_core.train --config configs/classroom.json --out runs/classroom --timeline-every 33
    python -m bench.timeline_scrub runs/classroom

Starts `python launch.py --checkpoint DIR` in a subprocess, loads the directory's timeline once
(/timeline_load: reading the snapshots and aligning their projections), then asks for every snapshot in
turn (/timeline_map, what one step of the slider sends) and prints the number of snapshots, the load
time and the per-step answer times (median and max), through gradio_client.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from bench.app_latency import free_port
from bench.first_query import wait_for_page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a model directory with timeline.safetensors (train --timeline-every N)")
    args = parser.parse_args()
    if not (args.run / "timeline.safetensors").is_file():
        sys.exit(f"{args.run} has no timeline.safetensors: train it with --timeline-every N")
    from gradio_client import Client

    port = free_port()
    server = subprocess.Popen([sys.executable, "launch.py", "--checkpoint", str(args.run), "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_page(f"http://127.0.0.1:{port}/")
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        start = time.perf_counter()
        slider, _, _ = client.predict(str(args.run.resolve()), "modality", "joint", api_name="/timeline_load")
        loaded = time.perf_counter() - start
        count = int(slider["maximum"]) + 1 if isinstance(slider, dict) else None
        if count is None:
            sys.exit(f"/timeline_load gave no slider: {slider!r:.200}")
        times = []
        for index in range(count):
            start = time.perf_counter()
            client.predict(str(args.run.resolve()), index, "modality", "joint", api_name="/timeline_map")
            times.append(time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{args.run}: {count} snapshots; /timeline_load {loaded:.2f} s; one slider step (/timeline_map) median "
          f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms over {count} steps")


if __name__ == "__main__":
    main()
