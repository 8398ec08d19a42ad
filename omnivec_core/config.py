"""Configuration: model/training dataclasses and the named presets.

Modalities are named by their keys in the registry (`omnivec_core.modalities`); every stage of the
model is keyed by these names.
Configs round-trip through JSON (`to_dict` / `from_dict`) so a model directory is
`config.json` + `model.safetensors` and nothing else is needed to rebuild it. The JSON carries
`format_version`; `omnivec_core.migrate` upgrades older ones, and `from_dict` refuses unknown keys and
gives missing ones today's defaults, so a plan file holds only what it changes.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .constants import FORMAT_VERSION
from .migrate import migrate
from .modalities import MODALITIES, REGISTRY, check_names

# Attribute vocabularies of the OmniShapes world; the task heads are sized from them.
NUM_SHAPES = 8
ATTRIBUTE_CLASSES = {"shape": 8, "colour": 8, "motion": 8, "size": 2, "speed": 2}
FOLDER_LABEL = "class"  # the label of a folder dataset's items (its class index), beside OmniShapes' attributes
MASK_TYPES = ("random", "tube", "frame", "causal")
EMBED_SPACES = ("fac", "shared", "disjoint")
TIME_PROFILES = ("none", "fine", "fine_and_coarse")
SCHEDULES = ("continue", "own")
ATTENTIONS = ("joint", "divided")
REPLICABLE_OBJECTIVES = ("mae", "tasks")  # objectives without in-batch negatives: their stages may repeat events
MAX_CAPTIONS_PER_EVENT = 10  # one per caption template of OmniShapes
PATCH_GRID_LAYOUTS = ("spatial", "spectrogram")  # token layouts of the stems that cut a 2-D map into patches


def default_stem_context() -> dict[str, int]:
    """Context convs per stem that takes them (those that cut a 2-D map into patches), as the registry gives them."""
    return {m.stem: m.stem_context for m in REGISTRY.values() if m.layout in PATCH_GRID_LAYOUTS}


def read_config_object(path: Path) -> dict:
    """The JSON object a config file holds, as written (`ExperimentConfig.from_dict` migrates it)."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a JSON {type(data).__name__}, not a config object")
    return data


@dataclass
class ModelConfig:
    modalities: tuple[str, ...] = MODALITIES  # which modality entries the model builds
    width: int = 256               # D: width of the shared transformer
    depth: int = 6                 # number of shared transformer blocks
    heads: int = 8                 # attention heads per block
    drop_path: float = 0.0         # stochastic depth rate at the last block (linear ramp from 0)
    backbone: str = "shared"       # "shared": one modality-agnostic transformer; "specific": one per modality
    attention: str = "joint"       # "joint": every token attends to every other; "divided": OmniVL's (TimeSformer's)
                                   # temporal attention across time steps, then spatial attention within one;
                                   # inputs with one time step (images) skip the temporal part
    stem_dim: int = 192            # width of the stem outputs, before the meta-conditioned projection to D
    conv_stem: bool = True         # stride-2 conv stack instead of a linear patch projection (learns shape faster)
    stem_context: dict[str, int] = field(default_factory=dict)  # stem -> stride-1 3x3 convs
                                   # after its conv stack: each adds 2 patches of view (whole objects); the audio
                                   # stem's 0 keeps onsets sharp (a clip's sound is told by timing). A stem left
                                   # out takes its registry default (`Modality.stem_context`; 0 without conv_stem)
    point_groups: int = 64         # farthest-point-sampled centres = point tokens
    point_group_size: int = 32     # nearest neighbours per centre fed to the mini-PointNet
    text_encoder: str = "minilm"   # "minilm": frozen pretrained MiniLM-L6; "scratch": small trainable embedding
    embed_space: str = "fac"       # "fac" (fine video-audio + coarse with text), "shared", or "disjoint" (MMV)
    time_profile: str = "none"     # the tokens' mean per time step, in order, read by the video and audio fine
                                   # heads (timing tells otherwise equal clips apart; the shared vector stays
                                   # semantic): "none"; "fine": the coarse (text) space maps the plain fine head,
                                   # so captions meet what a clip shows, not when; "fine_and_coarse": it maps the
                                   # fine embedding with the profile, so captions can read how far a thing went
    fine_dim: int = 128            # width of the fine space (video, audio, image, depth, points)
    coarse_dim: int = 128          # width of the coarse space (everything, text included) and of shared/disjoint spaces
    decoder_width: int = 128       # MAE decoder width
    decoder_depth: int = 2         # MAE decoder blocks
    decoder_heads: int = 4         # MAE decoder attention heads
    separate_decoders: bool = False  # each reconstructed modality gets its own decoder trunk (embed, blocks, norm):
                                   # one trunk shared by five serves them unequally; --init from a model with a
                                   # shared trunk starts every modality's trunk as a copy of it
    text_decoder_depth: int = 0    # blocks of each of OmniVL's text decoders (alignment: caption matching;
                                   # generation: captioning), decoder_width wide; 0 builds neither
    classes: tuple[str, ...] = ()  # a folder dataset's class names: a FOLDER_LABEL head beside the attribute heads
                                   # (set by `train --data DIR` from the folder's labels; empty: none)

    def __post_init__(self) -> None:
        self.modalities = tuple(self.modalities)
        self.classes = tuple(self.classes)
        check_names(self.modalities, "model.modalities")
        if self.backbone not in ("shared", "specific"):
            raise ValueError(f"backbone must be 'shared' or 'specific', got {self.backbone!r}")
        if self.text_encoder not in ("minilm", "scratch"):
            raise ValueError(f"text_encoder must be 'minilm' or 'scratch', got {self.text_encoder!r}")
        for name, choices in (("embed_space", EMBED_SPACES), ("time_profile", TIME_PROFILES),
                              ("attention", ATTENTIONS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        if self.time_profile != "none" and self.embed_space != "fac":
            raise ValueError(f"time_profile {self.time_profile!r} needs embed_space 'fac' (it feeds the fine "
                             f"space), got {self.embed_space!r}; use time_profile 'none'")
        if self.embed_space == "disjoint" and "video" not in self.modalities:
            raise ValueError(f"embed_space 'disjoint' pairs video with each other modality, but model.modalities "
                             f"{list(self.modalities)} has no video; add it or choose 'fac' or 'shared'")
        self._complete_stem_context()
        if self.text_decoder_depth < 0:
            raise ValueError(f"text_decoder_depth must be >= 0 (0: no text decoders), got {self.text_decoder_depth}")
        if self.width % self.heads or self.decoder_width % self.decoder_heads:
            raise ValueError("width and decoder_width must be divisible by their head counts")

    def _complete_stem_context(self) -> None:
        """Every stem that takes context convs gets a count (left out: its registry default, or 0 without conv_stem)."""
        defaults = default_stem_context()
        if not isinstance(self.stem_context, dict) or set(self.stem_context) - set(defaults):
            raise ValueError(f"stem_context must map stems that take context convs ({', '.join(defaults)}) to "
                             f"their counts, got {self.stem_context!r}")
        self.stem_context = {**(defaults if self.conv_stem else dict.fromkeys(defaults, 0)), **self.stem_context}
        for stem, convs in self.stem_context.items():
            if not isinstance(convs, int) or convs < 0 or (convs and not self.conv_stem):
                raise ValueError(f"stem_context[{stem!r}] needs conv_stem and must be >= 0, got {convs!r}")


@dataclass
class StageConfig:
    name: str                       # shown in logs ("pretrain", "align", "finetune")
    steps: int                      # optimizer steps in this stage
    objectives: dict[str, float]    # objective name -> loss weight (see omnivec_core.objectives.OBJECTIVES)
    modalities: list[str] = field(default_factory=list)  # the modalities this stage renders and trains, of
                                    # those the model has (empty: all): a step of task heads on images alone
                                    # costs about a ninth of a step on all six
    frozen: list[str] = field(default_factory=list)  # model parts held as they are during this stage: no
                                    # gradients, eval mode, batch-norm statistics untouched ("backbone", "stems",
                                    # dotted paths such as "stems.visual", or one tensor such as
                                    # "decoder.mask_token"); all but "decoder" trains reconstruction alone and
                                    # leaves every embedding exactly as it was
    mae_weights: dict[str, float] = field(default_factory=dict)  # weight of a modality's MAE loss in their mean
                                    # (missing: 1; 0 leaves it out, and a stage of MAE alone then does not render
                                    # it): with one shared decoder it says whom the decoder serves first
    mae_relative: bool = False      # each modality's MAE loss divided by the mean-of-visible guess's error on the
                                    # same tokens, so pixels count as much as log-mel patches (raw errors differ ~30x)
    modality_mixing: bool = True    # MAE steps lend each event to one modality, mixing modalities at the cost of
                                    # one (False: every event lends all of them, for a decoder starved of samples)
    sibling_events: int = 1         # runs of this many training events share shape, colour and motion, so
                                    # instance contrast must use timing, speed and size (1: all independent)
    folder: str = ""                # a folder of the user's media to draw steps from (data/folders.py; "": none)
    folder_share: float = 1.0       # share of this stage's steps drawn from `folder`, the rest from OmniShapes
    varied_looks: float = 0.0       # share of this stage's OmniShapes events drawn with a varied look (other
                                    # backgrounds, styles, sizes, cameras, turned clouds, noisy sound; data/
                                    # omnishapes/looks.py), so the model reads media any program made (0: plain)
    replicas: int = 1               # OmniMAE's sample replication: a step renders batch_size / replicas events and
                                    # repeats each this many times in a row, every copy under its own random mask,
                                    # so batch size and steps stay while rendering shrinks (MAE and tasks only: a
                                    # contrastive loss would take a copy for a negative of itself)
    schedule: str = "continue"      # "own": a new warmup + cosine starts here and runs through the "continue"
                                    # stages after it (as if they were a run of their own); "continue": this
                                    # stage carries on the schedule of the stage before (the first starts one)
    lr: float | None = None         # peak learning rate of the schedule this stage starts (None: train.lr)
    warmup_steps: int | None = None  # warmup of the schedule this stage starts (None: train.warmup_steps, at
                                    # most a fifth of the schedule: a short stage would otherwise barely decay)

    def __post_init__(self) -> None:
        self.modalities, self.frozen = list(self.modalities), list(self.frozen)
        self.objectives, self.mae_weights = dict(self.objectives), dict(self.mae_weights)
        check_names(self.modalities, f"stage {self.name!r}")
        where = f"stage {self.name!r}: "
        if self.schedule not in SCHEDULES:
            raise ValueError(f"{where}schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.sibling_events < 1:
            raise ValueError(f"{where}sibling_events must be >= 1, got {self.sibling_events}")
        if not 0.0 <= self.folder_share <= 1.0:
            raise ValueError(f"{where}folder_share must be in [0, 1], got {self.folder_share}")
        if not 0.0 <= self.varied_looks <= 1.0:
            raise ValueError(f"{where}varied_looks must be in [0, 1], got {self.varied_looks}")
        if self.replicas < 1:
            raise ValueError(f"{where}replicas must be >= 1, got {self.replicas}")
        paired = sorted(set(self.objectives) - set(REPLICABLE_OBJECTIVES))
        if self.replicas > 1 and paired:
            raise ValueError(f"{where}replicas {self.replicas} repeats events, and objectives {paired} would take a "
                             f"copy for a negative of itself; replicate only stages of {list(REPLICABLE_OBJECTIVES)}")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"{where}lr must be > 0, got {self.lr}")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise ValueError(f"{where}warmup_steps must be >= 0, got {self.warmup_steps}")
        reconstructed = [m for m, spec in REGISTRY.items() if spec.reconstruct]
        _check_weights(f"{where}mae_weights", self.mae_weights, reconstructed, ", which has no reconstruction")


@dataclass
class TrainConfig:
    batch_size: int = 64            # events per step (each event gives every enabled modality)
    lr: float = 1e-3                # peak learning rate after warmup, of every schedule whose first stage sets none
    warmup_steps: int = 100         # linear warmup of every schedule whose first stage sets none
    seed: int = 0                   # model init and data seed; rank r renders seed*1000+r streams
    eval_every: int = 200           # steps between quick evals written to metrics.jsonl
    eval_events: int = 256          # events in each quick eval
    save_every: int = 500           # steps between checkpoints
    mask_ratio: dict[str, float] = field(default_factory=lambda: {  # MAE mask ratio per modality
        m.name: m.mask_ratio for m in REGISTRY.values() if m.reconstruct})
    mask_type: dict[str, str] = field(default_factory=lambda: {  # MAE mask type per modality
        m.name: m.mask_type for m in REGISTRY.values() if m.reconstruct})
    droptoken: dict[str, float] = field(default_factory=dict)  # DropToken rate per modality during alignment/tasks
    attribute_weights: dict[str, float] = field(default_factory=dict)  # weight of an attribute in the classification
                                    # loss's mean (missing: 1): in a mean of five, a hard attribute (shape from
                                    # pixels) learns several times slower than alone
    task_grouping: bool = True      # task steps alternate simple (classification) and dense (else both each step)
    univlc: bool = False            # OmniVL's label-aware contrastive loss on video-text (a caption's label: what it names)
    momentum_queue: int = 0         # UniVLC also ranks this many recent clips (and their captions), encoded by a
                                    # momentum (EMA) copy of the model, positives by their labels (ALBEF, MoCo);
                                    # 0: in-batch only
    captions_per_event: int = 3     # captions rendered per clip (1-10): its positives in MIL-NCE and UniVLC; more
                                    # show more ways of naming one event in each step
    negative_captions: int = 0      # per clip, captions wrong about one attribute each (0-5; NegCLIP-style hard
                                    # negatives for video->text): without them a batch rarely asks the coarse
                                    # space to tell motion or speed apart
    stages: list[StageConfig] = field(default_factory=list)  # the stage plan, run in order

    def __post_init__(self) -> None:
        self.stages = [_as_stage(stage, index) for index, stage in enumerate(self.stages)]
        for modality, kind in self.mask_type.items():
            if kind not in MASK_TYPES:
                raise ValueError(f"mask_type[{modality!r}] must be one of {MASK_TYPES}, got {kind!r}")
        if self.momentum_queue < 0 or (self.momentum_queue and not self.univlc):
            raise ValueError(f"momentum_queue must be >= 0 and needs univlc on, got {self.momentum_queue} "
                             f"with univlc {self.univlc}")
        if not 1 <= self.captions_per_event <= MAX_CAPTIONS_PER_EVENT:
            raise ValueError(f"captions_per_event must be 1..{MAX_CAPTIONS_PER_EVENT} (the caption templates), "
                             f"got {self.captions_per_event}")
        if not 0 <= self.negative_captions <= len(ATTRIBUTE_CLASSES):
            raise ValueError(f"negative_captions must be 0..{len(ATTRIBUTE_CLASSES)} (one per attribute), "
                             f"got {self.negative_captions}")
        _check_weights("attribute_weights", self.attribute_weights, ATTRIBUTE_CLASSES,
                       f"; attributes are {list(ATTRIBUTE_CLASSES)}")
        for name, ratio in {**self.mask_ratio, **self.droptoken}.items():
            if not 0.0 <= ratio < 1.0:
                raise ValueError(f"rate for {name!r} must be in [0, 1), got {ratio}")
        for stage in self.stages:
            self._check_replicas(stage)
        for stage in self.stages[1:]:
            if stage.schedule != "own" and (stage.lr, stage.warmup_steps) != (None, None):
                raise ValueError(f"stage {stage.name!r} continues the schedule of the stage before it, so it cannot "
                                 f"set lr or warmup_steps; give it schedule 'own' to start a schedule of its own")

    def _check_replicas(self, stage: StageConfig) -> None:
        """A stage's copies of one event fill the batch exactly and are masked apart."""
        if self.batch_size % stage.replicas:
            raise ValueError(f"stage {stage.name!r}: replicas {stage.replicas} must divide batch_size "
                             f"{self.batch_size} (a step renders batch_size / replicas events)")
        causal = sorted(m for m, kind in self.mask_type.items() if kind == "causal")
        if stage.replicas > 1 and causal:
            raise ValueError(f"stage {stage.name!r}: replicas need masks drawn per copy, but mask_type 'causal' "
                             f"of {causal} hides the same tokens in every copy")

    @property
    def total_steps(self) -> int:
        return sum(stage.steps for stage in self.stages)


def _as_stage(value: StageConfig | dict[str, Any], index: int) -> StageConfig:
    """A stage of the plan from its JSON form, refusing unknown keys and naming missing ones."""
    if isinstance(value, StageConfig):
        return value
    where = f"train.stages[{index}]"
    _reject_unknown(StageConfig, value, where)
    required = [f.name for f in dataclasses.fields(StageConfig)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    missing = [name for name in required if name not in value]
    if missing:
        raise ValueError(f"{where} lacks {missing}: every stage needs {required}")
    return StageConfig(**value)


def _check_weights(field_name: str, weights: dict[str, float], known, unknown_hint: str) -> None:
    """Every key of a weights field is known and every weight is a number >= 0."""
    for name, weight in weights.items():
        if name not in known:
            raise ValueError(f"{field_name} names {name!r}{unknown_hint}")
        if not weight >= 0:
            raise ValueError(f"{field_name}[{name!r}] must be >= 0, got {weight}")


@dataclass
class ExperimentConfig:
    preset: str = "custom"          # name of the preset this started from (a plan file may name none)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExperimentConfig":
        """A config from its JSON form. An older format is upgraded by `migrate` first (the one place that
        knows old defaults); then every key must be a field, at every level, and a missing key takes the
        dataclass default, so a plan file gives only what it changes."""
        data = migrate(data)
        _reject_unknown(cls, data, "top-level", also=("format_version",))
        model, train = data.get("model", {}), data.get("train", {})
        _reject_unknown(ModelConfig, model, "model")
        _reject_unknown(TrainConfig, train, "train")
        return cls(preset=data.get("preset", "custom"), model=ModelConfig(**model), train=TrainConfig(**train))

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: Path) -> "ExperimentConfig":
        return cls.from_dict(read_config_object(path))


def _reject_unknown(kind: type, data: dict[str, Any], where: str, also: tuple[str, ...] = ()) -> None:
    """A key that is not a field of `kind` is a mistake (a misspelt key would otherwise be ignored)."""
    if not isinstance(data, dict):
        raise ValueError(f"the {where} config must be a JSON object, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(kind)} | set(also)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {where} config key{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(map(repr, unknown))}; valid keys: {', '.join(sorted(known))}")


# ---- presets: one small factory each, registered in PRESETS ----------------------------------
def _stage_plan(steps: int, align_tasks: float = 0.0) -> list[StageConfig]:
    """Pretrain (MAE), then align (contrastive, MAE kept as a regulariser; optionally the task heads
    too, which teaches attributes much sooner), then multi-task finetune, under one schedule."""
    pretrain_steps, align_steps = int(steps * 0.25), int(steps * 0.5)
    align_objectives = {"contrastive": 1.0, "mae": 0.5, **({"tasks": align_tasks} if align_tasks else {})}
    return [
        StageConfig("pretrain", pretrain_steps, {"mae": 1.0}),
        StageConfig("align", align_steps, align_objectives),
        StageConfig("finetune", steps - pretrain_steps - align_steps, {"contrastive": 1.0, "tasks": 1.0, "mae": 0.25}),
    ]


def tiny() -> ExperimentConfig:
    """CPU, minutes: the classroom plan, about ten minutes on two cores. A short MAE warm-up; task heads
    on still images and captions, where shape and words are cheap (0.3 s a step against 1.4-1.8 s on all
    six); then alignment with the task heads on all six; each stage with its own warmup and cosine."""
    # the time profile in both spaces: after ten minutes the backbone does not yet say speed in its
    # vector, and a caption reads how far the object went from the per-step profile
    model = ModelConfig(width=128, depth=4, heads=4, stem_dim=96, text_encoder="scratch", fine_dim=64,
                        coarse_dim=64, decoder_width=64, decoder_depth=1, decoder_heads=4, point_group_size=16,
                        time_profile="fine_and_coarse")
    # shape and speed from pixels learn slowest in the mean over attributes, so they weigh more and every
    # task step classifies; captions wrong about one attribute ask the coarse space to tell them apart
    train = TrainConfig(batch_size=32, lr=2e-3, warmup_steps=30, eval_every=100, eval_events=128, save_every=100,
                        droptoken={"video": 0.5}, univlc=True, attribute_weights={"shape": 8.0, "speed": 4.0},
                        task_grouping=False, negative_captions=4,
                        stages=[StageConfig("pretrain", 60, {"mae": 1.0}, schedule="own"),
                                StageConfig("shapes", 200, {"tasks": 1.0}, ["image", "text"], schedule="own"),
                                StageConfig("align", 400, {"contrastive": 1.0, "tasks": 1.0, "mae": 0.25},
                                            schedule="own")])
    return ExperimentConfig("tiny", model, train)


def lesson() -> ExperimentConfig:
    """Two minutes on two CPU cores, live in front of a class: picture, clip, sound and sentence only, a narrow
    model, no MAE. Shapes first from still pictures and captions (cheap: 0.27 s a step), whose visual stem the
    clips share; then clips, sounds and captions aligned with UniVLC and two counterfactual captions per clip,
    which tell attributes apart far sooner than instance contrast alone (bench/lesson.py measures it)."""
    model = ModelConfig(modalities=("image", "video", "audio", "text"), width=96, depth=3, heads=4, stem_dim=64,
                        text_encoder="scratch", time_profile="fine_and_coarse", fine_dim=64, coarse_dim=64,
                        decoder_width=64, decoder_depth=1)
    train = TrainConfig(batch_size=32, lr=3e-3, warmup_steps=20, eval_every=1000, eval_events=128, save_every=1000,
                        droptoken={"video": 0.5}, attribute_weights={"shape": 8.0, "motion": 4.0, "speed": 4.0},
                        task_grouping=False, univlc=True, negative_captions=2,
                        stages=[StageConfig("shapes", 150, {"tasks": 1.0}, ["image", "text"], schedule="own"),
                                StageConfig("align", 120, {"contrastive": 1.0, "tasks": 1.0},
                                            ["video", "audio", "text"], schedule="own")])
    return ExperimentConfig("lesson", model, train)


def small() -> ExperimentConfig:
    """The preset meant for a GPU: the default architecture, MiniLM captions, 4,000 steps of 128 events."""
    train = TrainConfig(batch_size=128, lr=1e-3, warmup_steps=200, stages=_stage_plan(4000, align_tasks=0.5))
    return ExperimentConfig("small", ModelConfig(), train)


def base() -> ExperimentConfig:
    """ViT-S width and depth with linear patchify, like timm's ViT-S, so the speed comparison is at equal shape."""
    model = ModelConfig(width=384, depth=12, heads=6, stem_dim=256, drop_path=0.1, conv_stem=False, fine_dim=256,
                        coarse_dim=256, decoder_width=256, decoder_depth=4, decoder_heads=8)
    train = TrainConfig(batch_size=256, lr=6e-4, warmup_steps=500, stages=_stage_plan(10000))
    return ExperimentConfig("base", model, train)


def omnimae() -> ExperimentConfig:
    """The tiny plan under OmniMAE's masking (Girdhar et al. 2022): 90 % of image and 95 % of video patches
    hidden where the tiny preset hides 75 % and 90 %, so the two presets differ in the ratios alone. The mask
    types stay the tiny preset's (OmniMAE drew video patches at random, not in tubes; a plan file's
    train.mask_type can too), and every stage keeps replicas 1: OmniMAE's sample replication is a stage's
    `replicas`, a second change to compare on its own (bench/sample_replication.py)."""
    config = tiny()
    config.preset = "omnimae"
    config.train.mask_ratio.update(image=0.9, video=0.95)
    return config


PRESETS: dict[str, Callable[[], ExperimentConfig]] = {"lesson": lesson, "tiny": tiny, "small": small, "base": base,
                                                      "omnimae": omnimae}


def preset(name: str) -> ExperimentConfig:
    """A fresh config of the named preset (each call builds a new one, safe to change)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]()
