"""A class on one laptop: simulated students using the app at once, through gradio_client.

    python -m bench.classroom_load [--students 30] [--seconds 120] [--events 500] [--checkpoint DIR] [--json FILE]

Starts the app (`launch.py --no-train`, as shared with a class) in a subprocess. Each student is one client
with its own session, like one browser: it waits 3-7 s (uniform), then asks one of three things, as a class
would (sentence queries most often): a sentence query (/retrieve with a sentence), a clip query (/retrieve
with a 2-second clip of its own, video + sound) or a caption of the same clip (/caption). It keeps going for
--seconds. Prints, per kind of action, the count, errors and the latency p50 / p95 / max (from the call to
the answer; previews are left as URLs, which a browser fetches beside the answer), and the whole class's.
The students run on the same machine as the server, as on a teacher's laptop with the class on the LAN
would not: their own CPU use counts against the server here.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.app_latency import ROOT, free_port

SENTENCES = ("a small red circle bouncing", "a large blue square spinning", "a green triangle moving left",
             "a big yellow star moving fast", "a tiny purple cross sliding right", "an orange hexagon, slow")
ACTIONS = (("sentence query", 0.5), ("clip query", 0.25), ("caption", 0.25))  # kind, share of a class's actions
TARGETS = ["video", "audio", "text", "points"]


@dataclass
class Record:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind, _ in ACTIONS})
    errors: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind, _ in ACTIONS})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            (self.errors[kind].append(error) if error else self.latencies[kind].append(seconds))


def act(client, kind: str, clip, rng: random.Random, events: int) -> None:
    if kind == "sentence query":
        client.predict(None, rng.choice(SENTENCES), TARGETS, 5, events, api_name="/retrieve")
    elif kind == "clip query":
        client.predict(clip, "", TARGETS, 5, events, api_name="/retrieve")
    else:
        client.predict(clip, 0, 0, "greedy", api_name="/caption")


def student(url: str, clip, seed: int, until: float, record: Record, events: int) -> None:
    from gradio_client import Client

    rng = random.Random(seed)
    client = Client(url, verbose=False, download_files=False)
    kinds, weights = zip(*ACTIONS)
    while True:
        time.sleep(rng.uniform(3.0, 7.0))
        if time.time() >= until:
            return
        kind = rng.choices(kinds, weights)[0]
        start = time.perf_counter()
        try:
            act(client, kind, clip, rng, events)
            record.add(kind, time.perf_counter() - start, None)
        except Exception as error:  # noqa: BLE001 -- every failure a student sees is counted, whatever its kind
            record.add(kind, time.perf_counter() - start, f"{type(error).__name__}: {error}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def summary(record: Record) -> list[dict]:
    rows = []
    everything = [t for kind, _ in ACTIONS for t in record.latencies[kind]]
    for kind, times in [*((k, record.latencies[k]) for k, _ in ACTIONS), ("all", everything)]:
        errors = sum(len(e) for e in record.errors.values()) if kind == "all" else len(record.errors[kind])
        rows.append({"action": kind, "answered": len(times), "errors": errors,
                     "p50_s": statistics.median(times) if times else float("nan"),
                     "p95_s": percentile(times, 0.95), "max_s": max(times, default=float("nan"))})
    return rows


def start_server(checkpoint: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "launch.py", "--checkpoint", str(checkpoint), "--port", str(port),
                               "--no-train"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in server.stdout:
        if "Running on" in line:
            return server
    raise RuntimeError(f"the app exited before serving (code {server.wait()})")


def run(students: int, seconds: float, checkpoint: Path, events: int = 500) -> tuple[list[dict], Record]:
    from bench import media_factory as mf
    from gradio_client import Client, handle_file

    clip = handle_file(str(mf.make_mp4_with_aac(Path(tempfile.mkdtemp()) / "clip.mp4", seconds=2.0)))
    port = free_port()
    server = start_server(checkpoint, port)
    try:
        url = f"http://127.0.0.1:{port}/"
        Client(url, verbose=False).predict(None, SENTENCES[0], TARGETS, 5, events, api_name="/retrieve")  # embedded
        record, until = Record(), time.time() + seconds
        threads = [threading.Thread(target=student, args=(url, clip, seed, until, record, events), daemon=True)
                   for seed in range(students)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 120)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return summary(record), record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30, help="simulated students, each its own session")
    parser.add_argument("--seconds", type=float, default=120.0, help="how long the class works (default 120)")
    parser.add_argument("--events", type=int, default=500, help="OmniShapes gallery searched, a multiple of 50")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "omnivec-default")
    parser.add_argument("--json", type=Path, help="also write the table here")
    args = parser.parse_args()
    if args.students < 1 or args.seconds <= 0:
        parser.error("--students must be at least 1 and --seconds positive")
    rows, record = run(args.students, args.seconds, args.checkpoint, args.events)
    print(f"{args.students} students for {args.seconds:.0f} s, 3-7 s between actions")
    print(f"{'action':<16} {'answered':>8} {'errors':>6} {'p50 (s)':>8} {'p95 (s)':>8} {'max (s)':>8}")
    for r in rows:
        print(f"{r['action']:<16} {r['answered']:>8} {r['errors']:>6} {r['p50_s']:>8.2f} {r['p95_s']:>8.2f} "
              f"{r['max_s']:>8.2f}")
    for kind, errors in record.errors.items():
        for error in sorted(set(errors))[:3]:
            print(f"error ({kind}): {error[:200]}")
    if args.json:
        args.json.write_text(json.dumps({"students": args.students, "seconds": args.seconds, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
