"""Runs a paper table: every row trained at the same step budget (or measured by its own function), evaluated on
the held-out seed, its result written atomically as it finishes (so `--resume` skips it), then the table
assembled beside the paper's trend and written as JSON and markdown."""
from __future__ import annotations

import copy
import datetime
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ..config import ExperimentConfig
from ..evaluation.held_out import HELD_OUT_SEED, evaluate
from ..io import write_json
from ..train.checkpoint import load_model
from ..train.plans import set_steps
from ..train.trainer import Trainer
from .report import ROOT, write_results
from .spec import Part, Row, Table, judge, report_metrics

TRAIN_FILES = ("metrics.jsonl", "train_state.json", "train_state.safetensors")


@dataclass
class RowContext:
    """What a row's measurement may read: its config and model directory, the trained model (loaded on first
    use), the device, the table's budget, and a memo shared by the table's rows within one invocation."""
    table: Table
    part: Part
    row: Row
    config: ExperimentConfig
    run: Path
    device: object
    steps: int
    events: int
    memo: dict = field(default_factory=dict)

    @property
    def model(self):
        key = ("model", str(self.run))
        if key not in self.memo:
            self.memo[key] = load_model(self.run, self.device)[0]
        return self.memo[key]


def row_config(table: Table, row: Row, scale: str, steps: int | None = None) -> ExperimentConfig:
    """The table's base config at `scale`, changed by the row, its plan run in `steps` steps (each stage
    keeping its share): every row of a table trains for the same number of steps."""
    config = table.base(scale)
    row.change(config)
    if steps is not None and steps != config.train.total_steps:
        set_steps(config.train, steps)
    return config


def default_steps(table: Table, scale: str) -> int:
    return table.base(scale).train.total_steps


def finished(run: Path, config: ExperimentConfig) -> bool:
    """`run` holds a finished training of exactly `config`."""
    try:
        same = ExperimentConfig.load(run / "config.json") == config
        step = json.loads((run / "train_state.json").read_text())["step"]
    except (OSError, ValueError, KeyError):
        return False
    return same and step >= config.train.total_steps and (run / "model.safetensors").is_file()


def trained(config: ExperimentConfig, run: Path, device: str = "auto", resume: bool = True) -> Path:
    """Train `config` into the model directory `run`. With `resume`, a finished training of the same config
    there is kept and an interrupted one continues; otherwise training starts afresh."""
    run = Path(run)
    if resume and finished(run, config):
        return run
    partial = resume and (run / "train_state.json").is_file() and (run / "config.json").is_file()
    if partial and ExperimentConfig.load(run / "config.json") == config:
        return Trainer(config, run, device, resume=True).run()
    for name in TRAIN_FILES:  # a fresh run: no old log lines or optimizer state left behind
        (run / name).unlink(missing_ok=True)
    return Trainer(config, run, device).run()


def train_seconds(run: Path) -> float | None:
    """Training time from the run's metrics.jsonl: the sum over its sessions (a resumed run restarts the clock)."""
    try:
        lines = (run / "metrics.jsonl").read_text().splitlines()
    except OSError:
        return None
    total, last = 0.0, 0.0
    for line in lines:
        elapsed = json.loads(line).get("elapsed_s")
        if elapsed is None:
            continue
        if elapsed < last:  # a new session began
            total += last
        last = elapsed
    return total + last


def measure(ctx: RowContext, resume: bool) -> dict:
    """One row: train (or reuse) its model and measure it, or run the row's own measurement."""
    if ctx.row.run is not None:
        return ctx.row.run(ctx)
    trained_here = ctx.memo.setdefault("trained", set())
    if not (ctx.part.one_model and str(ctx.run) in trained_here):
        trained(ctx.config, ctx.run, str(ctx.device), resume)
        trained_here.add(str(ctx.run))
    result = {"metrics": {}}
    if ctx.part.evaluate:
        import torch

        with torch.no_grad():
            result["report"] = evaluate(ctx.model, ctx.config, HELD_OUT_SEED, ctx.events, ctx.device)
        result["metrics"].update(report_metrics(result["report"]))
    seconds = train_seconds(ctx.run)
    if seconds is not None:
        result["metrics"]["train s"] = seconds
    if ctx.part.extra is not None:
        result["metrics"].update(ctx.part.extra(ctx))
    return result


def budget(scale: str, steps: int, events: int) -> dict:
    return {"scale": scale, "steps": steps, "events": events, "seed": HELD_OUT_SEED}


def row_file(out: Path, table: Table, row: Row) -> Path:
    return Path(out) / table.name / f"{row.slug}.json"


def run_table(table: Table, out: Path, work: Path, scale: str, steps: int | None = None, events: int = 256,
              device="cpu", resume: bool = False, command: str = "") -> dict:
    """Every row of `table` (skipping, with `resume`, those whose result at this budget is written), then the
    table: `out`/TABLE.json and TABLE.md; each row's result in `out`/TABLE/ROW.json, its model in
    `work`/TABLE/ROW. Returns the table's document."""
    steps = steps or default_steps(table, scale)
    plan = budget(scale, steps, events)
    memo: dict = {}
    results: dict[str, dict[str, dict]] = {}
    bar = tqdm(table.rows, desc=table.name, unit="row")
    for part, row in bar:
        bar.set_postfix(row=row.name)
        path = row_file(out, table, row)
        stored = _read(path) if resume else None
        if stored is not None and stored.get("budget") == plan:
            results.setdefault(part.title, {})[row.name] = stored
            continue
        if stored is not None:
            tqdm.write(f"{row.name}: its result is from another budget ({stored.get('budget')}); running it again")
        config = row_config(table, row, scale, steps)
        run = Path(work) / table.name / ("model" if part.one_model else row.slug)
        ctx = RowContext(table, part, row, config, run, device, steps, events, memo)
        measured = measure(ctx, resume)
        result = {"table": table.name, "part": part.title, "row": row.name, "budget": plan, "date": _now(),
                  **measured, "config": config.to_dict()}
        if not part.one_model:
            memo.pop(("model", str(run)), None)  # the next row trains a model of its own
        write_json(path, result)
        results.setdefault(part.title, {})[row.name] = result
        value = result["metrics"].get(part.metric)
        tqdm.write(f"{table.name} / {row.name}: {part.metric} = " + ("-" if value is None else f"{value:.4g}"))
    bar.close()
    document = assemble(table, results, {"command": command, "date": _now(), "budget": plan,
                                         "device": str(device), "commit": _commit()})
    write_results(out, document)
    return document


def assemble(table: Table, results: dict[str, dict[str, dict]], meta: dict) -> dict:
    """The table's document: per part the rows' metrics beside the paper's direction, every claim checked and
    each row's agreement. `results`: part title -> row name -> that row's result ({"metrics": ...})."""
    parts = []
    for part in table.parts:
        rows = copy.deepcopy(results.get(part.title, {}))
        for result in rows.values():
            result.setdefault("metrics", {})
        if part.derive is not None:
            part.derive(rows)
        metrics = {name: result["metrics"] for name, result in rows.items()}
        claims, agreement = judge(part, metrics)
        held = [c["holds"] for c in claims]
        parts.append({
            "title": part.title, "metric": part.metric, "higher_is_better": part.higher_is_better,
            "columns": [part.metric, *[c for c in part.columns if c != part.metric]],
            "trend": part.trend, "reference": part.reference,
            "rows": [{"row": row.name, "setting": row.setting, "paper": row.paper,
                      "metrics": metrics.get(row.name, {}), "agrees": agreement[row.name]} for row in part.rows],
            "claims": claims,
            "agreement": f"{held.count(True)} of {len(held)} claims hold"
                         + (f" ({held.count(None)} not measured)" if None in held else "")})
    return {"table": table.name, "title": table.title, "paper": table.paper, "note": table.note, **meta,
            "parts": parts}


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None
