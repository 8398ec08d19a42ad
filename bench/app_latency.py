"""App latency through gradio_client on this machine, with the bundled model (or --checkpoint).

    python -m bench.app_latency [--checkpoint DIR] [--repeats 5] [--events 500]

Starts `python launch.py` in a subprocess, measures the time until it serves, then the median
latency of /retrieve with an uploaded 2-second clip (video + AAC audio), /reconstruct of an image,
/embedding_map with PCA on 3,000 points (500 events x 6 modalities) and with t-SNE and UMAP, and
/sample while a training run is going. Prints a table. --events sets the gallery of /retrieve and
/embedding_map (a multiple of 50; --repeats 1 --events 50 is a smoke run).
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(call, repeats: int) -> tuple[float, float]:
    """(first call, median of the next `repeats`) in seconds."""
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "omnivec-default")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--events", type=int, default=500,
                        help="gallery events of /retrieve and /embedding_map, a multiple of 50 (default 500)")
    args = parser.parse_args()
    from bench import media_factory as mf
    from gradio_client import Client, handle_file
    from omnivec_app.train_tab import plan_from_knobs

    folder = Path(tempfile.mkdtemp())
    clip = handle_file(str(mf.make_mp4_with_aac(folder / "clip.mp4", seconds=2.0)))
    port = free_port()
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "launch.py", "--checkpoint", str(args.checkpoint), "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in server.stdout:
            if "Running on" in line:
                break
        ready = time.perf_counter() - start
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        # a browser shows the answer at once and fetches the preview files beside it; this client
        # measures that answer, the one above also downloads every preview file, one after another
        lazy = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
        rows = [("ready to serve after start", ready, ready)]
        retrieve_args = (clip, "", ["video", "audio", "text", "points"], 5, args.events)
        rows.append(("/retrieve, 2 s clip, answer (previews as URLs)",
                     *timed(lambda: lazy.predict(*retrieve_args, api_name="/retrieve"), args.repeats)))
        rows.append(("/retrieve, 2 s clip, answer + its 13 preview files fetched",
                     *timed(lambda: client.predict(*retrieve_args, api_name="/retrieve"), args.repeats)))
        rows.append(("/reconstruct, image, 75% masked",
                     *timed(lambda: client.predict("image", 0.75, "random", 0, 0, 0, None, api_name="/reconstruct"),
                            args.repeats)))
        fresh = int(time.time()) % 100_000 + 1  # a seed no earlier run cached, so t-SNE/UMAP really compute
        for method in ("pca", "tsne", "umap"):
            params = (method, 2, "modality", args.events, 30, 15, 0.1, 0 if method == "pca" else fresh, 10)
            repeats = args.repeats if method == "pca" else 1
            rows.append((f"/embedding_map, {method}, {args.events * 6:,} points",
                         *timed(lambda: client.predict(*params, api_name="/embedding_map"), repeats)))
        plan = plan_from_knobs({"preset": "tiny", "steps": 200, "modalities": ["image", "video", "audio", "text"],
                                "stages": ["pretrain", "align"], "embed_space": "fac"})
        client.predict(json.dumps(plan), api_name="/train")  # /train takes the Train tab's plan (JSON)
        time.sleep(5)
        rows.append(("/sample while training in the background",
                     *timed(lambda: client.predict(0, 1, api_name="/sample"), args.repeats)))
        client.predict(api_name="/train_stop")
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{'call':<60} {'first (s)':>10} {'median (s)':>11}")
    for name, first, median in rows:
        print(f"{name:<60} {first:>10.3f} {median:>11.3f}")


if __name__ == "__main__":
    main()
