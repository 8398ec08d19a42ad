"""Runs one training at a time in a background process (`python -m omnivec_core.train`), so the
app stays responsive; reads its metrics.jsonl for live curves; stops it with Ctrl-C semantics."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from omnivec_core.config import ExperimentConfig
from omnivec_core.train.trainer import STOP_FILE

ROOT = Path(__file__).resolve().parents[1]
TIMELINE_SNAPSHOTS = 20  # a run keeps this many snapshots of the shared space (besides its first step)


def timeline_every(total_steps: int) -> int:
    """Steps between a run's timeline snapshots: total_steps // 20 (the classroom plan: every 33 of 660 steps)."""
    return max(1, total_steps // TIMELINE_SNAPSHOTS)


@dataclass
class TrainingRun:
    out: Path
    total_steps: int
    process: subprocess.Popen
    started: float = field(default_factory=time.time)

    def running(self) -> bool:
        return self.process.poll() is None


class TrainingManager:
    def __init__(self, runs_dir: Path = ROOT / "runs"):
        self.runs_dir = Path(runs_dir)
        self.run: TrainingRun | None = None
        self.lock = threading.Lock()

    def start(self, config: ExperimentConfig, device: str) -> TrainingRun:
        """Start a run; raises RuntimeError while another one is going."""
        with self.lock:
            if self.run is not None and self.run.running():
                raise RuntimeError(f"a training run is already going ({self.run.out.name}); stop it or wait")
            out = self.runs_dir / time.strftime("app-%Y%m%d-%H%M%S")
            out.mkdir(parents=True, exist_ok=True)
            config.save(out / "requested_config.json")
            command = [sys.executable, "-m", "omnivec_core.train", "--config", str(out / "requested_config.json"),
                       "--out", str(out), "--device", device, "--log-every", "5",
                       "--timeline-every", str(timeline_every(config.train.total_steps))]
            log = open(out / "train.log", "w")
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self.run = TrainingRun(out, config.train.total_steps, process)
            return self.run

    def stop(self) -> str:
        with self.lock:
            if self.run is None or not self.run.running():
                return "No training run is going."
            # read before every step: the trainer saves at the end of its step and exits (a SIGINT sent before
            # the trainer takes it over would kill the run unsaved, or be ignored where it was inherited ignored)
            (self.run.out / STOP_FILE).touch()
            return f"Stopping {self.run.out.name}: it saves its last step, then you can load it."

    def metrics(self) -> tuple[list[dict], list[dict]]:
        """(loss records, eval records) of the current run so far."""
        if self.run is None or not (self.run.out / "metrics.jsonl").is_file():
            return [], []
        records = []
        for line in (self.run.out / "metrics.jsonl").read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:  # a line still being written
                break
        return [r for r in records if "loss" in r], [r for r in records if "eval" in r]

    def status(self) -> str:
        if self.run is None:
            return "No training run yet."
        losses, _ = self.metrics()
        step = losses[-1]["step"] if losses else 0
        elapsed = time.time() - self.run.started
        if self.run.running():
            eta = elapsed / step * (self.run.total_steps - step) if step else float("nan")
            eta_text = f"{eta / 60:.1f} min left" if step else "starting (building the model, first steps)"
            return f"Training **{self.run.out.name}**: step {step}/{self.run.total_steps}, {elapsed / 60:.1f} min, {eta_text}."
        code = self.run.process.returncode
        if code == 0:
            return f"Finished **{self.run.out.name}** at step {step} in {elapsed / 60:.1f} min. Load it into every tab."
        tail = (self.run.out / "train.log").read_text()[-600:]
        return f"Run **{self.run.out.name}** ended with an error (exit {code}):\n```\n{tail}\n```"
