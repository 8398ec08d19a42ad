"""How long the first retrieval takes after the app starts, as a user meets it.

    python -m bench.first_query [--checkpoint DIR] [--runs 3]

Starts `python launch.py` in a subprocess, polls its page until it answers HTTP 200, sends at once a
/retrieve of an uploaded 2-second clip (frames and sound track, video/audio/text/points targets, top 5
among 500 events; previews as URLs, as a browser gets them first), and prints the seconds to serve and
to answer, per run and their median.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wait_for_page(url: str, timeout: float = 300) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def one_run(checkpoint: Path, clip) -> tuple[float, float]:
    from bench.app_latency import free_port
    from gradio_client import Client

    port = free_port()
    server = subprocess.Popen([sys.executable, "launch.py", "--checkpoint", str(checkpoint), "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        served = wait_for_page(f"http://127.0.0.1:{port}/")
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
        start = time.perf_counter()
        client.predict(clip, "", ["video", "audio", "text", "points"], 5, 500, api_name="/retrieve")
        return served, time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "omnivec-default")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from bench import media_factory as mf
    from gradio_client import handle_file

    clip = handle_file(str(mf.make_mp4_with_aac(Path(tempfile.mkdtemp()) / "clip.mp4", seconds=2.0)))
    results = [one_run(args.checkpoint, clip) for _ in range(args.runs)]
    print(f"{'run':<8} {'HTTP 200 after start (s)':>25} {'first /retrieve (s)':>20}")
    for i, (served, first) in enumerate(results, 1):
        print(f"{i:<8} {served:>25.2f} {first:>20.2f}")
    print(f"{'median':<8} {statistics.median(r[0] for r in results):>25.2f} "
          f"{statistics.median(r[1] for r in results):>20.2f}")


if __name__ == "__main__":
    main()
