"""Configuration: the modality table, model/training dataclasses and the named presets.

Every modality is one `ModalitySpec` row; every stage of the model is keyed by these names.
Configs round-trip through JSON (`to_dict` / `from_dict`) so a model directory is
`config.json` + `model.safetensors` and nothing else is needed to rebuild it.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Attribute vocabularies of the OmniShapes world; the task heads are sized from them.
NUM_SHAPES = 8
ATTRIBUTE_CLASSES = {"shape": 8, "colour": 8, "motion": 8, "size": 2, "speed": 2}
ALL_ATTRIBUTES = tuple(ATTRIBUTE_CLASSES)
MASK_TYPES = ("random", "tube", "frame", "causal")
EMBED_SPACES = ("fac", "shared", "disjoint")
VECTOR_POOLS = ("mean", "mean_max", "mean_max_time")


@dataclass(frozen=True)
class ModalitySpec:
    """How one modality enters the model. Sizes describe the default OmniShapes input."""
    name: str
    stem: str                    # key of the stem module that tokenizes it (image and video share "visual")
    channels: int                # C: input channels (meta token)
    frames: int                  # T: input time steps (video frames, spectrogram frames; 1 if static)
    height: int                  # H: input height (mel bins for audio; 1 if none)
    width: int                   # W: input width (1 if none)
    length: int                  # L: sequence length (text word pieces, points; 1 if none)
    tokens: int                  # token count the stem produces at the default size
    grid: tuple[int, int]        # (time steps, tokens per step) of the token grid, for tube/frame/causal masks
    reconstruct: bool            # has an MAE target (text has none)
    dense: bool                  # has a dense (segmentation) target
    observes: tuple[str, ...]    # attributes this modality can tell (a still image cannot tell motion)


MODALITY_SPECS: dict[str, ModalitySpec] = {
    spec.name: spec
    for spec in (
        ModalitySpec("image", "visual", 3, 1, 64, 64, 1, 64, (1, 64), True, True, ("shape", "colour", "size")),
        ModalitySpec("video", "visual", 3, 8, 64, 64, 1, 256, (4, 64), True, False, ALL_ATTRIBUTES),
        ModalitySpec("audio", "audio", 1, 64, 64, 1, 1, 64, (8, 8), True, False, ALL_ATTRIBUTES),
        ModalitySpec("text", "text", 1, 1, 1, 1, 24, 24, (1, 24), False, False, ("shape", "colour", "motion")),
        ModalitySpec("depth", "depth", 1, 1, 64, 64, 1, 64, (1, 64), True, True, ("shape", "size")),
        ModalitySpec("points", "points", 3, 1, 1, 1, 1024, 64, (1, 64), True, True, ("shape", "size")),
    )
}
MODALITIES = tuple(MODALITY_SPECS)


@dataclass
class ModelConfig:
    modalities: tuple[str, ...] = MODALITIES  # which modality entries the model builds
    width: int = 256               # D: width of the shared transformer
    depth: int = 6                 # number of shared transformer blocks
    heads: int = 8                 # attention heads per block
    mlp_ratio: float = 4.0         # hidden width of each block's MLP, as a multiple of D
    vector_pool: str = "mean_max"  # vectorizer pooling of content tokens: "mean", "mean_max" (max sees small objects)
                                   # or "mean_max_time" (adds a per-time-step profile, so timing survives pooling;
                                   # on tiny it lifts video-audio retrieval but costs shape and text: BENCHMARKS.md)
    mask_before_stem: bool = True  # hidden patches are blanked in the input before the conv stems, whose receptive
                                   # fields cross patch borders: otherwise visible tokens carry their neighbours'
                                   # pixels and MAE reconstructs partly from what it was meant not to see
    time_slots: int = 8            # slots of that profile; a modality's time steps spread over them (images use one)
    drop_path: float = 0.0         # stochastic depth rate at the last block (linear ramp from 0)
    backbone: str = "shared"       # "shared": one modality-agnostic transformer; "specific": one per modality
    stem_dim: int = 192            # width of the stem outputs, before the meta-conditioned projection to D
    patch: int = 8                 # spatial patch size of image/video/depth/spectrogram stems
    conv_stem: bool = True         # stride-2 conv stack instead of a linear patch projection (learns shape faster)
    stem_context: int = 1          # stride-1 3x3 convs after the conv stack: each adds 2 patches of view (whole objects)
    spectrogram_context: int = 0   # the same for the audio stem; 0 keeps onsets sharp (a clip's sound is told by timing)
    tubelet: int = 2               # temporal size of a video tubelet (an image is repeated to fill it)
    point_groups: int = 64         # farthest-point-sampled centres = point tokens
    point_group_size: int = 32     # nearest neighbours per centre fed to the mini-PointNet
    text_encoder: str = "minilm"   # "minilm": frozen pretrained MiniLM-L6; "scratch": small trainable embedding
    text_max_tokens: int = 24      # word pieces kept per caption
    text_vocab: int = 4096         # hash buckets of the scratch text tokenizer
    embed_space: str = "fac"       # "fac" (fine video-audio + coarse with text), "shared", or "disjoint" (MMV)
    fine_time_profile: bool = False  # video and audio fine heads also read the mean of each time step, in order:
                                   # timing tells otherwise equal clips apart, and the shared vector stays semantic
    time_profile_in_coarse: bool = False  # the coarse (text) space is mapped from the fine embedding with its time
                                   # profile (True) or without (False: audio-text stays about what, not when)
    fine_dim: int = 128            # width of the fine space (video, audio, image, depth, points)
    coarse_dim: int = 128          # width of the coarse space (everything, text included) and of shared/disjoint spaces
    decoder_width: int = 128       # MAE decoder width
    decoder_depth: int = 2         # MAE decoder blocks
    decoder_heads: int = 4         # MAE decoder attention heads
    separate_decoders: bool = False  # each reconstructed modality gets its own decoder trunk (embed, blocks, norm);
                                   # one shared trunk serves them unequally (BENCHMARKS.md: image alone +3.0 dB,
                                   # image among five +2.8); --init from a shared decoder copies it into each

    def __post_init__(self) -> None:
        self.modalities = tuple(self.modalities)
        unknown = [m for m in self.modalities if m not in MODALITY_SPECS]
        if unknown:
            raise ValueError(f"unknown modalities {unknown}; known: {list(MODALITY_SPECS)}")
        if self.backbone not in ("shared", "specific"):
            raise ValueError(f"backbone must be 'shared' or 'specific', got {self.backbone!r}")
        if self.text_encoder not in ("minilm", "scratch"):
            raise ValueError(f"text_encoder must be 'minilm' or 'scratch', got {self.text_encoder!r}")
        if self.vector_pool not in VECTOR_POOLS:
            raise ValueError(f"vector_pool must be one of {VECTOR_POOLS}, got {self.vector_pool!r}")
        if self.time_slots < 1:
            raise ValueError(f"time_slots must be >= 1, got {self.time_slots}")
        if self.embed_space not in EMBED_SPACES:
            raise ValueError(f"embed_space must be one of {EMBED_SPACES}, got {self.embed_space!r}")
        if self.fine_time_profile and self.embed_space != "fac":
            raise ValueError(f"fine_time_profile needs embed_space 'fac' (it feeds the fine space), "
                             f"got {self.embed_space!r}")
        for name in ("stem_context", "spectrogram_context"):
            value = getattr(self, name)
            if value < 0 or (value and not self.conv_stem):
                raise ValueError(f"{name} needs conv_stem and must be >= 0, got {value}")
        if self.width % self.heads or self.decoder_width % self.decoder_heads:
            raise ValueError("width and decoder_width must be divisible by their head counts")


@dataclass
class StageConfig:
    name: str                       # shown in logs ("pretrain", "align", "finetune")
    steps: int                      # optimizer steps in this stage
    objectives: dict[str, float]    # objective name -> loss weight (see omnivec_core.objectives.OBJECTIVES)
    modalities: list[str] = field(default_factory=list)  # the modalities this stage renders and trains, of
                                    # those the model has (empty: all): on the tiny preset a step of task heads
                                    # on images alone costs about a ninth of a step on all six

    def __post_init__(self) -> None:
        self.modalities = list(self.modalities)
        unknown = [m for m in self.modalities if m not in MODALITY_SPECS]
        if unknown:
            raise ValueError(f"stage {self.name!r} names unknown modalities {unknown}; known: {list(MODALITY_SPECS)}")


@dataclass
class TrainConfig:
    batch_size: int = 64            # events per step (each event gives every enabled modality)
    lr: float = 1e-3                # peak learning rate after warmup
    min_lr: float = 1e-5            # end of the cosine decay
    warmup_steps: int = 100         # linear warmup length
    weight_decay: float = 0.05      # AdamW decay on matrices (not norms, biases, embeddings)
    grad_clip: float = 1.0          # max global gradient norm (0 disables)
    seed: int = 0                   # model init and data seed; rank r renders seed*1000+r streams
    eval_seed: int = 1_000_003      # held-out OmniShapes seed for periodic eval (never trained on)
    eval_every: int = 200           # steps between quick evals written to metrics.jsonl
    eval_events: int = 256          # events in each quick eval
    save_every: int = 500           # steps between checkpoints
    mask_ratio: dict[str, float] = field(default_factory=lambda: {
        "image": 0.75, "video": 0.9, "audio": 0.8, "depth": 0.75, "points": 0.6})  # MAE mask ratio per modality
    mask_type: dict[str, str] = field(default_factory=lambda: {
        "image": "random", "video": "tube", "audio": "random", "depth": "random", "points": "random"})
    droptoken: dict[str, float] = field(default_factory=dict)  # DropToken rate per modality during alignment/tasks
    mae_relative: bool = False      # each modality's MAE loss divided by the mean-of-visible guess's error, so
                                    # pixels count as much as log-mel patches (raw errors differ ~30x)
    mae_weights: dict[str, float] = field(default_factory=dict)  # weight of a modality's MAE loss in their
                                    # weighted mean (missing: 1); the decoder is shared, so this says who it serves
    attribute_weights: dict[str, float] = field(default_factory=dict)  # weight of an attribute in the classification
                                    # loss's mean (missing: 1); in the mean of five, a hard attribute (shape from
                                    # pixels) learns several times slower than alone (BENCHMARKS.md)
    modality_mixing: bool = True    # MAE steps draw a random subset of modalities per step (else all every step)
    task_grouping: bool = True      # finetune alternates simple (classification) and dense steps (else both each step)
    stage_schedules: bool = False   # warmup + cosine within each stage (else one schedule over the whole plan)
    temperature: float = 0.07       # softmax temperature of the contrastive losses
    univlc: bool = False            # OmniVL's label-aware contrastive loss on video-text (a caption's label: what it names)
    captions_per_event: int = 3     # MIL-NCE positives per clip
    negative_captions: int = 0      # per clip, captions wrong about one attribute each (0-5; NegCLIP-style hard
                                    # negatives for video->text): without them a batch rarely asks the coarse
                                    # space to tell motion or speed apart
    sibling_events: int = 1         # runs of this many training events share shape, colour and motion, so
                                    # instance contrast must use timing, speed and size (1: all independent)
    frozen: list[str] = field(default_factory=list)  # model parts that keep their weights ("backbone", "stems",
                                    # dotted paths such as "stems.visual"): everything but "decoder" polishes
                                    # reconstruction and leaves the shared space exactly as it was
    amp: bool = True                # bf16 autocast on CUDA (ignored on CPU)
    compile: bool = False           # torch.compile the model
    stages: list[StageConfig] = field(default_factory=list)  # the stage plan, run in order

    def __post_init__(self) -> None:
        self.stages = [s if isinstance(s, StageConfig) else StageConfig(**s) for s in self.stages]
        for modality, kind in self.mask_type.items():
            if kind not in MASK_TYPES:
                raise ValueError(f"mask_type[{modality!r}] must be one of {MASK_TYPES}, got {kind!r}")
        if not 0 <= self.negative_captions <= len(ATTRIBUTE_CLASSES):
            raise ValueError(f"negative_captions must be 0..{len(ATTRIBUTE_CLASSES)} (one per attribute), "
                             f"got {self.negative_captions}")
        if self.sibling_events < 1:
            raise ValueError(f"sibling_events must be >= 1, got {self.sibling_events}")
        _check_weights("mae_weights", self.mae_weights, [m for m, spec in MODALITY_SPECS.items() if spec.reconstruct],
                       ", which has no reconstruction")
        _check_weights("attribute_weights", self.attribute_weights, ATTRIBUTE_CLASSES,
                       f"; attributes are {list(ATTRIBUTE_CLASSES)}")
        for name, ratio in {**self.mask_ratio, **self.droptoken}.items():
            if not 0.0 <= ratio < 1.0:
                raise ValueError(f"rate for {name!r} must be in [0, 1), got {ratio}")

    @property
    def total_steps(self) -> int:
        return sum(stage.steps for stage in self.stages)


def _check_weights(field_name: str, weights: dict[str, float], known, unknown_hint: str) -> None:
    """Every key of a weights field is known and every weight is a number >= 0."""
    for name, weight in weights.items():
        if name not in known:
            raise ValueError(f"{field_name} names {name!r}{unknown_hint}")
        if not weight >= 0:
            raise ValueError(f"{field_name}[{name!r}] must be >= 0, got {weight}")


@dataclass
class ExperimentConfig:
    preset: str                     # name of the preset this started from
    model: ModelConfig
    train: TrainConfig

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ExperimentConfig":
        _reject_unknown(cls, data, "experiment")
        _reject_unknown(ModelConfig, data["model"], "model")
        _reject_unknown(TrainConfig, data["train"], "train")
        # configs written before these options existed used the linear stem without context convs and
        # mean pooling; before spectrogram_context the audio stem had as many context convs as the others;
        # before time_profile_in_coarse the coarse space was mapped from the fine embedding with the time profile;
        # before mask_before_stem masked patches were removed after the stem, which had seen them
        model = {"conv_stem": False, "stem_context": 0, "vector_pool": "mean", "time_profile_in_coarse": True,
                 "mask_before_stem": False,
                 **data["model"]}
        model.setdefault("spectrogram_context", model["stem_context"])
        return cls(preset=data["preset"], model=ModelConfig(**model), train=TrainConfig(**data["train"]))

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: Path) -> "ExperimentConfig":
        try:
            data = json.loads(Path(path).read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
        return cls.from_dict(data)


def _reject_unknown(kind: type, data: dict[str, Any], where: str) -> None:
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {where} config keys {sorted(unknown)}; known: {sorted(known)}")


def _stage_plan(steps: int, align_tasks: float = 0.0) -> list[StageConfig]:
    """Pretrain (MAE), then align (contrastive, MAE kept as a regulariser; optionally the task heads
    too, which teaches attributes much sooner), then multi-task finetune."""
    pretrain_steps, align_steps = int(steps * 0.25), int(steps * 0.5)
    align_objectives = {"contrastive": 1.0, "mae": 0.5, **({"tasks": align_tasks} if align_tasks else {})}
    return [
        StageConfig("pretrain", pretrain_steps, {"mae": 1.0}),
        StageConfig("align", align_steps, align_objectives),
        StageConfig("finetune", steps - pretrain_steps - align_steps, {"contrastive": 1.0, "tasks": 1.0, "mae": 0.25}),
    ]


def preset(name: str) -> ExperimentConfig:
    """The named presets: tiny (CPU, minutes), small (the bundled model), base (ViT-S width)."""
    if name == "tiny":
        # the time profile in the fine and the coarse space: after ten minutes video->audio R@1 among 1,000
        # 0.30 -> 0.76 and text->video P@1 0.71 -> 0.78 (validation seed; the top video's motion 0.85 -> 0.95,
        # speed 0.76 -> 0.82: a caption picks a direction in the per-step profile), for so little time a step
        # that alignment grew from 330 to 400 steps (0.83); BENCHMARKS.md, thirteenth session
        model = ModelConfig(width=128, depth=4, heads=4, stem_dim=96, text_encoder="scratch",
                            fine_dim=64, coarse_dim=64, decoder_width=64, decoder_depth=1, decoder_heads=4,
                            point_group_size=16, fine_time_profile=True, time_profile_in_coarse=True)
        train = TrainConfig(batch_size=32, lr=2e-3, warmup_steps=30, eval_every=100, eval_events=128,
                            save_every=100, droptoken={"video": 0.5}, univlc=True,
                            # shape (and speed) from pixels learn slowest in the mean over attributes, and
                            # classifying every step teaches them sooner: together they lifted text->video
                            # P@1 among 1,000 after ten minutes from 0.37 to 0.54 (validation seed); with
                            # captions in the second stage, 8 and 4 (not 4 and 2) lift the video shape
                            # probe from 0.79 to 0.94 at the same P@1
                            attribute_weights={"shape": 8.0, "speed": 4.0}, task_grouping=False,
                            # captions wrong about one attribute each: 0.46 -> 0.55 (BENCHMARKS.md)
                            negative_captions=4,
                            # the classroom plan (about 10 CPU minutes), each stage with its own warmup and
                            # cosine: a short MAE warm-up; task heads on still images and captions, where shape
                            # and words are cheap (0.3 s a step against 1.4-1.8 s for all six); then alignment
                            # with the task heads on all six. Captions in the second stage lifted P@1 from
                            # 0.55 to 0.72 (the text stem knew its motion words by then); a longer image stage
                            # costs motion (BENCHMARKS.md, configs/classroom/)
                            stage_schedules=True,
                            stages=[StageConfig("pretrain", 60, {"mae": 1.0}),
                                    StageConfig("shapes", 200, {"tasks": 1.0}, ["image", "text"]),
                                    StageConfig("align", 400, {"contrastive": 1.0, "tasks": 1.0, "mae": 0.25})])
    elif name == "small":
        model = ModelConfig()
        train = TrainConfig(batch_size=128, lr=1e-3, warmup_steps=200, stages=_stage_plan(4000, align_tasks=0.5))
    elif name == "base":
        # linear patchify, like timm's ViT-S, so the performance comparison is at equal shape
        model = ModelConfig(width=384, depth=12, heads=6, stem_dim=256, drop_path=0.1, conv_stem=False, stem_context=0,
                            fine_dim=256, coarse_dim=256, decoder_width=256, decoder_depth=4, decoder_heads=8)
        train = TrainConfig(batch_size=256, lr=6e-4, warmup_steps=500, stages=_stage_plan(10000))
    else:
        raise ValueError(f"unknown preset {name!r}; choose tiny, small or base")
    return ExperimentConfig(preset=name, model=model, train=train)


PRESETS = ("tiny", "small", "base")
