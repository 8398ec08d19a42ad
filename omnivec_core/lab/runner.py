"""Runs a paper table: every row trained with each training seed at the same step budget (or measured by its own
function), evaluated on the held-out seed, each (row, seed) result written atomically as it finishes (so
`--resume` skips it), and the table assembled after every result: each metric's mean and spread over the seeds
beside the paper's figures, every claim judged against the spread (`claims.py`), written as JSON and markdown."""
from __future__ import annotations

import copy
import datetime
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ..config import ExperimentConfig
from ..analysis.embeddings import embed_batch
from ..data.omnishapes import OmniShapes
from ..evaluation.held_out import HELD_OUT_SEED, probe_scores
from ..evaluation.pairs import pair_scores, zero_shot_scores
from ..io import write_json
from ..modalities import CAPTIONS
from ..train.checkpoint import load_model
from ..train.plans import set_steps
from ..train.trainer import Trainer
from .claims import judge, row_stats, tally
from .report import ROOT, write_results
from .spec import Part, Row, Table, report_metrics

TRAIN_FILES = ("metrics.jsonl", "train_state.json", "train_state.safetensors")


@dataclass
class RowContext:
    """What a row's measurement may read: its config (its training seed included) and model directory, the
    trained model (loaded on first use), the device, the table's budget, and a memo shared by the table's rows
    within one invocation."""
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


def row_config(table: Table, row: Row, scale: str, steps: int | None = None, seed: int = 0) -> ExperimentConfig:
    """The table's base config at `scale`, changed by the row, its plan run in `steps` steps (each stage
    keeping its share) with training seed `seed`: every row of a table trains for the same number of steps."""
    config = table.base(scale)
    row.change(config)
    if steps is not None and steps != config.train.total_steps:
        set_steps(config.train, steps)
    config.train.seed = seed
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


def lab_report(model, n: int, device) -> dict:
    """The parts of the held-out evaluation (`evaluation.held_out.evaluate`) the tables read, on the model's own
    modalities: linear probes, instance retrieval and attribute precision for every pair, zero-shot accuracy
    (reconstruction PSNR, which no table reads, is left out)."""
    world, modalities = OmniShapes(), tuple(model.cfg.modalities)
    test = world.render(n, seed=HELD_OUT_SEED, device=device, modalities=modalities)
    probes = probe_scores(model, world.render(n, seed=HELD_OUT_SEED + 1, device=device, modalities=modalities), test)
    embedded = embed_batch(model, test)
    captions = [row[0] for row in test[CAPTIONS]] if CAPTIONS in test else [""] * n
    instance, attributes = pair_scores(model, test.labels, captions, embedded)
    return {"seed": HELD_OUT_SEED, "n": n, "linear_probe": probes, "retrieval": instance,
            "attribute_precision": attributes, "zero_shot": zero_shot_scores(model, test.labels, embedded)}


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
            result["report"] = lab_report(ctx.model, ctx.events, ctx.device)
        result["metrics"].update(report_metrics(result["report"]))
    seconds = train_seconds(ctx.run)
    if seconds is not None:
        result["metrics"]["train s"] = seconds
    if ctx.part.extra is not None:
        result["metrics"].update(ctx.part.extra(ctx))
    return result


def budget(scale: str, steps: int, events: int) -> dict:
    """What a (row, seed) result was measured at; a stored result at another budget is run again."""
    return {"scale": scale, "steps": steps, "events": events, "seed": HELD_OUT_SEED}


def row_file(out: Path, table: Table, row: Row, seed: int) -> Path:
    return Path(out) / table.name / row.slug / f"seed-{seed}.json"


def model_dir(work: Path, table: Table, part: Part, row: Row, seed: int) -> Path:
    return Path(work) / table.name / ("model" if part.one_model else row.slug) / f"seed-{seed}"


def run_table(table: Table, out: Path, work: Path, scale: str, steps: int | None = None, events: int = 256,
              device="cpu", resume: bool = False, command: str = "", seeds: int = 3) -> dict:
    """Every row of `table` with training seeds 0..`seeds`-1, seed by seed (skipping, with `resume`, the results
    written at this budget), the table rewritten after each: `out`/TABLE.json and TABLE.md; each result in
    `out`/TABLE/ROW/seed-S.json, its model in `work`/TABLE/ROW/seed-S. Returns the table's document."""
    steps = steps or default_steps(table, scale)
    plan = budget(scale, steps, events)
    meta = {"command": command, "budget": {**plan, "seeds": seeds}, "device": str(device), "commit": _commit()}
    memo: dict = {}
    results: dict[str, dict[str, list[dict]]] = {}
    todo = [(seed, part, row) for seed in range(seeds) for part, row in table.rows]
    bar = tqdm(todo, desc=table.name, unit="run")
    for seed, part, row in bar:
        bar.set_postfix(row=row.name, seed=seed)
        path = row_file(out, table, row, seed)
        stored = _read(path) if resume else None
        config = row_config(table, row, scale, steps, seed)
        as_stored = json.loads(json.dumps(config.to_dict()))  # tuples as lists, as the JSON holds them
        if stored is None or stored.get("budget") != plan or stored.get("config") != as_stored:
            if stored is not None:
                tqdm.write(f"{row.name} seed {seed}: its result is from another budget or config; running it again")
            stored = run_row(table, part, row, seed, config, plan, device, work, resume, memo)
            write_json(path, stored)
            value = stored["metrics"].get(part.metric)
            tqdm.write(f"{table.name} / {row.name} / seed {seed}: {part.metric} = "
                       + ("-" if value is None else f"{value:.4g}"))
        results.setdefault(part.title, {}).setdefault(row.name, []).append(stored)
        write_results(out, assemble(table, results, {**meta, "date": _now()}))
    bar.close()
    document = assemble(table, results, {**meta, "date": _now()})
    write_results(out, document)
    return document


def run_row(table: Table, part: Part, row: Row, seed: int, config: ExperimentConfig, plan: dict, device,
            work: Path, resume: bool, memo: dict) -> dict:
    """One row at one training seed (`config`: the row's at that seed; `plan`: the budget): its result."""
    run = model_dir(work, table, part, row, seed)
    ctx = RowContext(table, part, row, config, run, device, plan["steps"], plan["events"], memo)
    measured = measure(ctx, resume)
    if not part.one_model:
        memo.pop(("model", str(run)), None)  # the next row trains a model of its own
    return {"table": table.name, "part": part.title, "row": row.name, "train_seed": seed,
            "budget": plan, "date": _now(), **measured, "config": config.to_dict()}


def seed_stats(part: Part, results: dict[str, list[dict]]) -> dict[str, dict]:
    """Per row, each metric's mean, spread and count over its seeds; `part.derive` (metrics that compare rows)
    runs on each seed's rows first."""
    by_seed: dict[int, dict[str, dict]] = {}
    for name, runs in results.items():
        for result in runs:
            by_seed.setdefault(result.get("train_seed", 0), {})[name] = {**result,
                                                                           "metrics": dict(result.get("metrics", {}))}
    if part.derive is not None:
        for rows in by_seed.values():
            part.derive(rows)
    per_row: dict[str, list[dict]] = {}
    for rows in by_seed.values():
        for name, result in rows.items():
            per_row.setdefault(name, []).append(result["metrics"])
    return {name: row_stats(metrics) for name, metrics in per_row.items()}


def assemble(table: Table, results: dict[str, dict[str, list]], meta: dict) -> dict:
    """The table's document: per part each row's metrics (mean, spread and seeds) beside the paper's figures,
    every claim judged against the spread, and the verdicts' tally. `results`: part title -> row name -> that
    row's results, one per training seed ({"metrics": ..., "train_seed": s})."""
    parts = []
    for part in table.parts:
        stats = seed_stats(part, copy.deepcopy(results.get(part.title, {})))
        claims, agreement = judge(part, stats)
        quote = part.quote
        parts.append({
            "title": part.title, "metric": part.metric, "higher_is_better": part.higher_is_better,
            "columns": [part.metric, *[c for c in part.columns if c != part.metric]],
            "trend": part.trend, "reference": part.reference, "baseline": part.reference_row,
            "quote": None if quote is None else {"source": quote.source, "columns": list(quote.columns),
                                                 "figures": {r: list(v) for r, v in quote.figures.items()},
                                                 "mirrors": {m: list(c) for m, c in quote.mirrors.items()},
                                                 "words": quote.words},
            "rows": [{"row": row.name, "setting": row.setting, "paper": part.paper_value(row.name),
                      "metrics": {m: v["mean"] for m, v in stats.get(row.name, {}).items()},
                      "stats": stats.get(row.name, {}), "agrees": agreement[row.name]} for row in part.rows],
            "claims": claims,
            "agreement": tally([c["verdict"] for c in claims])})
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
