"""The training loop: the stage plan (each stage with its objectives, held parts and MAE settings),
warmup + cosine schedules, AMP, gradient clipping, data-parallel gradient all-reduce under torchrun,
metrics.jsonl, checkpoints, clean Ctrl-C and --resume."""
from __future__ import annotations

import json
import math
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from ..analysis.embeddings import embed_batch, recalibrate_batchnorm
from ..analysis.timeline import TimelineRecorder
from ..config import ExperimentConfig, StageConfig, TrainConfig
from ..constants import EVAL_SEED, GRAD_CLIP, MIN_LR, WEIGHT_DECAY
from ..data.folder_batches import FolderBatches
from ..data.folders import scan_folder
from ..data.omnishapes import ATTRIBUTES, OmniShapes, OmniShapesConfig, parse_caption
from ..evaluation.pairs import shares_attributes
from ..evaluation.retrieval import attribute_precision, recall_at
from ..modalities import REGISTRY, anchor_of
from ..model import OmniVec
from ..model.mae import copy_shared_trunk
from ..objectives import check_plan, stage_losses, stage_modalities
from ..objectives.momentum import MomentumQueue
from . import checkpoint
from .restart import start_at_stage

STOP_FILE = "STOP"  # in a run's folder: the run saves at the end of its step and exits


class NonFiniteLoss(RuntimeError):
    pass


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA device is available")
    return torch.device(name)


def start_runtime(device: str) -> Runtime:
    """torchrun sets WORLD_SIZE/RANK/LOCAL_RANK; then join the process group (NCCL on GPUs, gloo on CPUs)."""
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return Runtime(resolve_device(device))
    rank, world, local = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    resolved = resolve_device(device)
    if resolved.type == "cuda":
        resolved = torch.device("cuda", local)
        torch.cuda.set_device(resolved)
    dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo", rank=rank, world_size=world)
    return Runtime(resolved, rank, world)


def learning_rate(step: int, cfg: TrainConfig) -> float:
    """Linear warmup to the schedule's peak, then cosine decay to MIN_LR, within the schedule `step`
    falls in: one over the whole plan, unless stages start their own (`StageConfig.schedule`)."""
    start, length, first = schedule_span(step, cfg)
    peak = cfg.lr if first.lr is None else first.lr
    warmup = first.warmup_steps
    if warmup is None:
        warmup = min(cfg.warmup_steps, max(1, length // 5))
    local = step - start
    if local < warmup:
        return peak * (local + 1) / warmup
    progress = (local - warmup) / max(1, length - warmup)
    return MIN_LR + 0.5 * (peak - MIN_LR) * (1 + math.cos(math.pi * min(progress, 1.0)))


def schedule_span(step: int, cfg: TrainConfig) -> tuple[int, int, StageConfig]:
    """(first step, length, first stage) of the schedule `step` falls in (past the plan, the last one). A
    schedule starts at the first stage and at every stage with schedule "own", and runs through the
    "continue" stages after it."""
    spans, start = [], 0
    for index, stage in enumerate(cfg.stages):
        if index == 0 or stage.schedule == "own":
            spans.append([start, 0, stage])
        spans[-1][1] += stage.steps
        start += stage.steps
    current = spans[0]
    for span in spans[1:]:
        if span[0] <= step:
            current = span
    return current[0], current[1], current[2]


def stage_span(step: int, cfg: TrainConfig):
    """(first step, stage) of the stage that `step` falls in; past the plan, the last stage."""
    start = 0
    for stage in cfg.stages:
        if step < start + stage.steps:
            return start, stage
        start += stage.steps
    return start - cfg.stages[-1].steps, cfg.stages[-1]


def stage_at(step: int, cfg: TrainConfig):
    return stage_span(step, cfg)[1]


@torch.no_grad()
def quick_eval(model: OmniVec, world: OmniShapes, cfg: TrainConfig, device: torch.device) -> dict[str, float]:
    """Held-out retrieval against the contrastive anchor (video when present): the anchor finding each signal
    modality's own event (instance R@1), and each caption modality finding clips that show what it names
    (attribute P@1)."""
    model.eval()
    present = list(model.cfg.modalities)
    anchor = anchor_of(present)
    batch = world.render(cfg.eval_events, seed=EVAL_SEED, modalities=present, device=device)
    embedded = embed_batch(model, batch, present)
    names = {a: [ATTRIBUTES[a][i] for i in batch.labels[a].tolist()] for a in batch.labels}
    out = {}
    for m in present if anchor is not None else []:
        if m == anchor or not shares_attributes(anchor, m):
            continue
        space = model.embedding.pair_space(anchor, m)
        if REGISTRY[m].language:
            queries = [parse_caption(caption) for caption in REGISTRY[m].batch_input(batch)]
            out[f"{m}->{anchor} P@1"] = attribute_precision(embedded[m][space] @ embedded[anchor][space].t(),
                                                            queries, names)
        else:
            out[f"{anchor}->{m} R@1"] = recall_at(embedded[anchor][space] @ embedded[m][space].t())["R@1"]
    model.train()
    return out


class Trainer:
    def __init__(self, config: ExperimentConfig, out: Path, device: str = "auto", resume: bool = False,
                 tensorboard: bool = False, log_every: int = 10, init: Path | None = None,
                 compile_blocks: bool = False, timeline_every: int = 0, from_stage: str | None = None):
        self.config, self.out, self.log_every = config, Path(out), log_every
        self.rt = start_runtime(device)
        cfg = config.train
        if not cfg.stages or cfg.total_steps < 1:
            raise ValueError("the stage plan is empty: give at least one stage with steps > 0")
        check_plan(config.model, cfg)  # a stage the model cannot run fails now, not hours in
        torch.manual_seed(cfg.seed)  # same initial weights on every rank
        self.model = OmniVec(config.model).to(self.rt.device).train()
        self._check_frozen_parts()
        self.world = OmniShapes(OmniShapesConfig(captions_per_event=cfg.captions_per_event))
        self.folders: dict[str, FolderBatches] = {}  # a stage's folder of the user's media, read at its first step
        fused = self.rt.device.type == "cuda"
        # over every parameter some stage trains: a stage's held parts get no gradients, which AdamW skips
        self.optimizer = torch.optim.AdamW(self.model.optimizer_groups(WEIGHT_DECAY), lr=cfg.lr,
                                           betas=(0.9, 0.95), fused=fused)
        self.step = 0
        self.calibrated_at = self.saved_at = None  # steps of the last BN calibration and save
        if resume:
            self.step = checkpoint.load_train_state(self.out, self.optimizer)["step"]
            model, _ = checkpoint.load_model(self.out, self.rt.device)
            self.model.load_state_dict(model.state_dict())
            self.model.train()
            self.calibrated_at = self.step  # every checkpoint is saved calibrated
        if compile_blocks:  # torch.compile the transformer blocks
            backbone = [block for stack in self.model.backbone.stacks.values() for block in stack]
            for block in backbone + self.model.decoder.all_blocks():
                block.compile(dynamic=True)  # batch and token counts differ per modality and step
        self.stop_requested = False
        self.writer = None
        if tensorboard and self.rt.is_main:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                raise ValueError("--tensorboard needs the tensorboard package (pip install tensorboard)") from None
            self.writer = SummaryWriter(str(self.out / "tensorboard"))
        if from_stage is not None:
            if init is None or resume:
                raise ValueError("--from-stage starts a run at a stage from the model given by --init (not --resume)")
            self.step = start_at_stage(self, Path(init), from_stage)
            self.log({"step": self.step, "init": str(init), "from_stage": from_stage})
        elif init is not None and not resume:
            self._start_from(Path(init))
        self._hold_stage(stage_at(self.step, cfg), self.step)
        # momentum encoder and queues (not checkpointed: a resumed run starts them from its weights)
        self.momentum = MomentumQueue(self.model, cfg.momentum_queue, cfg.captions_per_event) if cfg.momentum_queue else None
        # snapshots of a fixed held-out probe in the shared space every N steps (OUT/timeline.safetensors)
        self.timeline = TimelineRecorder(self.out, self.model, timeline_every, self.step, resume) \
            if timeline_every and self.rt.is_main else None

    def _start_from(self, directory: Path) -> None:
        """Begin the plan from another model's weights with a fresh optimizer. Every tensor of that
        model must fit this one; tensors only this config's model has (a new head) keep their
        initialisation, and are named in the log."""
        ours = self.model.trainable_state_dict()
        source = checkpoint.load_model(directory, self.rt.device)[0].trainable_state_dict()
        theirs = copy_shared_trunk(source, ours)
        if theirs is not source and self.rt.is_main:
            print(f"{directory} has one shared decoder trunk: each modality's trunk starts as a copy of it")
        misfit = [k for k, v in theirs.items() if k not in ours or ours[k].shape != v.shape]
        if misfit:
            raise ValueError(f"cannot start from {directory}: {len(misfit)} of its tensors do not fit this config's "
                             f"model (e.g. {', '.join(misfit[:3])}); give --config that model's config.json with "
                             f"a new plan, changing only options that add parts")
        self.model.load_state_dict(theirs, strict=False)
        self.model.train()
        fresh = sorted({k.rsplit(".", 1)[0] for k in ours if k not in theirs})
        if fresh and self.rt.is_main:
            print(f"starting from {directory}; new, from initialisation: {', '.join(fresh)}")
        self.log({"step": 0, "init": str(directory), "fresh": fresh})  # the run's provenance, beside its config

    # ---- one step --------------------------------------------------------------------------
    def train_step(self, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cfg = self.config.train
        self.seed_step(step)
        stage = stage_at(step, cfg)
        self._hold_stage(stage, step)
        batch = self.render_batch(step, stage)
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(step, cfg)
        amp = self.rt.device.type == "cuda"  # bf16 autocast wherever it is fast
        with torch.autocast(self.rt.device.type, dtype=torch.bfloat16, enabled=amp):
            loss, named = stage_losses(self.model, batch, cfg, stage, step, self.momentum)
        if not loss.requires_grad:
            raise ValueError(f"stage {stage.name!r}: its objectives "
                             f"{sorted(stage.objectives)} reach only frozen parts {stage.frozen}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.rt.world > 1:
            self._all_reduce_gradients()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), GRAD_CLIP)
        self.optimizer.step()
        if self.momentum is not None:
            self.momentum.follow(self.model)
        return loss.detach(), {k: v.detach() for k, v in named.items()}

    def seed_step(self, step: int) -> None:
        """Seed the masks and drops of `step`, so they replay on --resume."""
        torch.manual_seed(self.config.train.seed * 1_000_003 + step * 131 + self.rt.rank)

    def render_batch(self, step: int, stage: StageConfig):
        """This step's training events. With the stage's replicas n (OmniMAE), batch_size / n events are rendered
        and each repeated n times in a row; their masks are drawn per row, so every copy is masked on its own.
        The stream keeps batch_size positions a step whatever n is, so stages never render an event twice."""
        cfg = self.config.train
        distinct, left = divmod(cfg.batch_size, stage.replicas)
        if left:
            raise ValueError(f"stage {stage.name!r}: replicas {stage.replicas} must divide batch_size {cfg.batch_size}")
        batch = self.source(step, stage).render(distinct, seed=cfg.seed * 1000 + self.rt.rank,
                                                start=step * cfg.batch_size,
                                                modalities=stage_modalities(self.config.model.modalities, stage),
                                                device=self.rt.device, siblings=stage.sibling_events,
                                                varied=stage.varied_looks)
        return batch.repeated(stage.replicas) if stage.replicas > 1 else batch

    def source(self, step: int, stage: StageConfig):
        """OmniShapes, or the stage's folder on `folder_share` of its steps, spread evenly (read once, cached)."""
        if not stage.folder or int((step + 1) * stage.folder_share) == int(step * stage.folder_share):
            return self.world
        if stage.folder not in self.folders:
            dataset = scan_folder(Path(stage.folder))
            self.folders[stage.folder] = FolderBatches(dataset, "train", self.config.model.modalities,
                                                       self.config.train.captions_per_event)
            if self.rt.is_main:
                print(f"training on {stage.folder}: {len(self.folders[stage.folder])} items, "
                      f"{', '.join(self.folders[stage.folder].modalities)}; {len(dataset.skipped)} files skipped")
        return self.folders[stage.folder]

    def _hold_stage(self, stage: StageConfig, step: int) -> None:
        """Hold the parts this stage keeps still. Where that changes mid-plan, the batch norms are calibrated
        first, under the stage before's holding: a part held from here on keeps exact statistics."""
        if tuple(stage.frozen) == self.model.held_parts:
            return
        if step > 0:
            self.calibrate()
        self.model.hold(stage.frozen)

    def _check_frozen_parts(self) -> None:
        """Every stage's frozen parts exist and leave something to train: fail now, not hours in."""
        for stage in self.config.train.stages:
            try:
                self.model.hold(stage.frozen)
            except ValueError as error:
                raise ValueError(f"stage {stage.name!r}: {error}") from None
            trains = any(p.requires_grad for p in self.model.parameters())
            self.model.release()
            if not trains:
                raise ValueError(f"stage {stage.name!r}: frozen {stage.frozen} leaves nothing to train")

    def _all_reduce_gradients(self) -> None:
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.rt.world
        offset = 0
        for g in grads:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()

    # ---- bookkeeping -----------------------------------------------------------------------
    def log(self, record: dict) -> None:
        if not self.rt.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.writer:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key != "step":
                    self.writer.add_scalar(key, value, record["step"])

    def calibrate(self) -> None:
        """Exact batch-norm statistics for the current weights (used by evaluation and the app);
        once per step, however many evals and saves fall on it."""
        if self.calibrated_at == self.step:
            return
        cfg = self.config.train
        recalibrate_batchnorm(self.model, self.world, seed=cfg.seed * 1000 + 999, batch_size=min(64, cfg.batch_size * 4))
        self.calibrated_at = self.step

    def save(self, step: int) -> None:
        if self.rt.is_main and self.saved_at != step:
            self.calibrate()
            self.saved_at = step
            checkpoint.save_model(self.out, self.model, self.config, step)
            checkpoint.save_train_state(self.out, self.optimizer, step, {"preset": self.config.preset})

    def _request_stop(self, signum, frame) -> None:
        if self.stop_requested:
            raise KeyboardInterrupt
        self.stop_requested = True

    def _stopping(self) -> bool:
        """A stop asked for by Ctrl-C (SIGINT) or by a STOP file in the run's folder (what the app's Stop
        writes: a signal sent before `run` installs its handler, or to a process that inherited SIGINT
        ignored, would be lost; the file waits). Every rank stops at the same step."""
        if not self.stop_requested and (self.out / STOP_FILE).exists():
            self.stop_requested = True
        if self.rt.world > 1:
            flag = torch.tensor(float(self.stop_requested), device=self.rt.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            self.stop_requested = bool(flag.item())
        return self.stop_requested

    def run(self, stop_after: int | None = None) -> Path:
        """Train to the end of the plan (or until `stop_after` steps, keeping the same schedule), then save."""
        cfg, total = self.config.train, self.config.train.total_steps
        last = total if stop_after is None else min(total, stop_after)
        previous = signal.signal(signal.SIGINT, self._request_stop)
        bar = tqdm(total=total, initial=self.step, disable=not self.rt.is_main, desc="training", unit="step")
        started, seen = time.perf_counter(), 0
        # every loss since the last log line, averaged there: alternating task groups name different
        # losses on odd and even steps, so logging one step would always miss one group
        window: dict[str, list[torch.Tensor]] = {}
        try:
            if self.timeline:
                self.timeline.record(self.model, self.step)  # where the run starts (step 0: the initialisation)
            while self.step < last and not self._stopping():
                loss, named = self.train_step(self.step)
                self.step += 1
                seen += cfg.batch_size * self.rt.world
                bar.update(1)
                for key, value in {"loss": loss, **named}.items():
                    window.setdefault(key, []).append(value)
                saving = self.step % cfg.save_every == 0
                if saving or self.step % self.log_every == 0 or self.step == total:
                    means = {k: torch.stack(v).float().mean().item() for k, v in window.items()}
                    window.clear()
                    if not math.isfinite(means["loss"]):
                        raise NonFiniteLoss(
                            f"loss became {means['loss']} by step {self.step}; stopped without saving, so "
                            f"{self.out} keeps the last good checkpoint. Try a lower --lr or check the inputs.")
                    rate, stage = seen / (time.perf_counter() - started), stage_at(self.step - 1, cfg).name
                    bar.set_postfix(loss=f"{means['loss']:.3f}", stage=stage)
                    self.log({"step": self.step, "stage": stage,
                              "lr": learning_rate(self.step - 1, cfg), "samples_per_s": rate,
                              "elapsed_s": time.perf_counter() - started, **means})
                if self.rt.is_main and (self.step % cfg.eval_every == 0 or self.step == total):
                    self.calibrate()
                    self.log({"step": self.step, "eval": quick_eval(self.model, self.world, cfg, self.rt.device),
                              "elapsed_s": time.perf_counter() - started})
                if saving:
                    self.save(self.step)
                if self.timeline and self.timeline.due(self.step, total):
                    self.timeline.record(self.model, self.step)
            self.save(self.step)
            if self.timeline:
                self.timeline.record(self.model, self.step)  # where it stopped, if not yet recorded
            if self.stop_requested and self.rt.is_main:
                print(f"\nstopped at step {self.step}/{total}; saved to {self.out} (continue with --resume)")
        finally:
            bar.close()
            signal.signal(signal.SIGINT, previous)
            if self.rt.is_main:
                (self.out / STOP_FILE).unlink(missing_ok=True)  # a request to this run only: --resume goes on
            if self.writer:
                self.writer.close()
        return self.out
