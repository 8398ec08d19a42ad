"""OmniVec's, OmniMAE's and OmniVL's tables: task grouping and modality mixing; mask ratios, sample replication and
one model against image-only and video-only MAE; decoupled pretraining, the pretraining paradigms and UniVLC.
OmniVec's figures are quoted from its ablation table; the seed notes give OmniMAE's and OmniVL's ablations in
words only (their tables are figures), so those are quoted in words and the claims follow the words."""
from __future__ import annotations

from ..config import ExperimentConfig, StageConfig
from ..modalities import AUDIO, CAPTIONS, DEPTH, IMAGE, VIDEO
from . import measures
from .bases import on
from .claims import orderings
from .spec import Claim, Part, Quote, Row, Table, train_fields

OMNIVEC = "OmniVec (Srivastava & Sharma, WACV 2024)"
OMNIMAE = "OmniMAE (Girdhar et al., CVPR 2023)"
OMNIVL = "OmniVL (Wang et al., NeurIPS 2022)"
NEAR = 0.03  # "as good", "comparable": within 3 points of accuracy or precision


# ---- OmniVec: task grouping x modality mixing --------------------------------------------------------------
def grouping(task_grouping: bool, mixing: bool):
    def change(config: ExperimentConfig) -> None:
        config.train.task_grouping = task_grouping
        for stage in config.train.stages:
            stage.modality_mixing = mixing
    return change


OMNIVEC_COLUMNS = ("AudioSet (A+V)", "AudioSet (A)", "SSv2", "GLUE", "ImageNet1K", "SUN RGB-D", "ModelNet40")
GROUPING_QUOTE = Quote(
    "OmniVec, ablation of task grouping and modality mixing: its seven columns (%)", OMNIVEC_COLUMNS,
    {"OmniVec-1": (37.5, 36.3, 62.6, 57.5, 70.2, 59.8, 68.5), "OmniVec-2": (42.6, 40.1, 73.5, 69.5, 79.8, 66.4, 75.2),
     "OmniVec-3": (39.2, 39.4, 70.2, 68.8, 77.3, 65.5, 72.2), "OmniVec-4": (48.6, 44.7, 80.1, 84.3, 88.6, 71.4, 83.6)},
    {"mean probe": OMNIVEC_COLUMNS},
    "Both task grouping and modality mixing individually/collectively help with the model performance.")
OMNIVEC_GROUPING = Table(
    "omnivec-grouping", "OmniVec: task grouping and modality mixing", OMNIVEC, (Part(
        "task grouping x modality mixing", "mean probe", (
            Row("OmniVec-1", grouping(False, False), "no task grouping, no modality mixing"),
            Row("OmniVec-2", grouping(True, False), "task grouping only"),
            Row("OmniVec-3", grouping(False, True), "modality mixing only"),
            Row("OmniVec-4", grouping(True, True), "task grouping and modality mixing (OmniVec's recipe)")),
        orderings(GROUPING_QUOTE, "mean probe"),
        "Mean of the seven columns 56.1 / 63.9 / 61.8 / 71.6: each technique helps alone, both together help most, "
        "and grouping alone beats mixing alone; every column keeps this order.",
        "OmniVec, ablation table (OmniVec-1..4)", ("mean attribute P@1", "zero-shot"), quote=GROUPING_QUOTE),),
    base=on(IMAGE, AUDIO, DEPTH, CAPTIONS),
    note="Task grouping acts on the steps with task heads, modality mixing on the MAE steps. With task grouping the "
         "classification and dense tasks take alternate task steps, so at an equal step budget each head is "
         "updated half as often as without it; OmniVec groups its tasks over a long fine-tuning.")


# ---- OmniMAE: mask ratios, sample replication, one model for images and videos -----------------------------
def mae_alone(scale: str, steps_factor: int = 2) -> ExperimentConfig:
    """Image and video, MAE alone for the whole plan (twice the scale's steps: an MAE step sees a tenth of the
    tokens)."""
    config = on(IMAGE, VIDEO)(scale)
    total = config.train.total_steps * steps_factor
    config.train.stages = [StageConfig("pretrain", total, {"mae": 1.0}, schedule="own")]
    return config


def mask_ratios(image: float, video: float):
    def change(config: ExperimentConfig) -> None:
        config.train.mask_ratio.update(image=image, video=video)
    return change


def pretrained_on(*names: str):
    def change(config: ExperimentConfig) -> None:
        for stage in config.train.stages:
            stage.modalities = list(names)
    return change


MAE_WORDS = Quote("OmniMAE, abstract (the seed notes quote no figures for the mask-ratio ablation)", words=(
    "This model can be learned by dropping 90% of the image and 95% of the video patches, enabling extremely fast "
    "training of huge model architectures."))
REPLICATION_WORDS = Quote("OmniMAE, Figure 5 (a plot: the seed notes quote its caption, no figures)", words=(
    "Replication leads to improved training speeds, especially on video without affecting the final performance."))
SINGLE_WORDS = Quote("OmniMAE, abstract and Figure 2 (a plot: the seed notes quote its caption, no figures)", words=(
    "This single model learns visual representations that are comparable to or better than single-modality "
    "representations on both image and video benchmarks. [...] MAE has poor video recognition performance while "
    "ST-MAE's performance drops on image datasets. OmniMAE pretraining generalizes to both benchmarks."))
OMNIMAE_MASKING = Table(
    "omnimae-masking", "OmniMAE: extreme mask ratios and sample replication", OMNIMAE, (
        Part("mask ratios (image / video)", "visual probe", (
            Row("90/95", mask_ratios(0.9, 0.95), "90 % of image and 95 % of video patches hidden (OmniMAE)"),
            Row("75/90", mask_ratios(0.75, 0.9), "75 % and 90 % hidden (MAE's and VideoMAE's usual ratios)")),
            (Claim("90/95", ">~", "75/90", tol=NEAR), Claim("90/95", "<", "75/90", "train s")),
            "The extreme ratios train as good a representation as lower ones while the encoder sees fewer tokens, "
            "so a step costs less.", "OmniMAE, abstract", ("image probe", "video probe", "train s"),
            quote=MAE_WORDS, baseline="75/90"),
        Part("sample replication", "s to target", (
            Row("n=1", setting="every event once", run=measures.replication(1)),
            Row("n=2", setting="each event twice, masked apart", run=measures.replication(2)),
            Row("n=4", setting="each event four times, masked apart", run=measures.replication(4))),
            (Claim("n=2", "<", "n=1"), Claim("n=4", "<", "n=1")),
            "Repeating each decoded sample under other masks reaches a loss sooner in wall-clock time.",
            "OmniMAE, sample replication (Figure 5)", ("steps to target", "median s/step", "median render s",
                                                        "final loss"),
            higher_is_better=False, evaluate=False, derive=measures.time_to_target, quote=REPLICATION_WORDS)),
    base=mae_alone,
    note="MAE alone on image and video for twice the scale's steps; the probes read frozen features. Sample "
         "replication trains its three settings step by step in turn (lab/replication.py); the target is the "
         "held-out MAE loss n=1 reaches halfway; wall-clock swings with the machine's load. Replication saves only "
         "the rendering of the repeated events (median render s of median s/step).")
OMNIMAE_SINGLE = Table(
    "omnimae-single", "OmniMAE: one model against image-only and video-only MAE", OMNIMAE, (Part(
        "what the MAE is trained on", "visual probe", (
            Row("image MAE", pretrained_on(IMAGE), "MAE on images alone (MAE)"),
            Row("video MAE", pretrained_on(VIDEO), "MAE on videos alone (ST-MAE)"),
            Row("OmniMAE", setting="one model, MAE on images and videos")),
        (Claim("OmniMAE", ">~", "image MAE", "image probe", NEAR), Claim("OmniMAE", ">~", "video MAE", "video probe",
                                                                          NEAR),
         Claim("OmniMAE", ">", "image MAE", "video probe"), Claim("OmniMAE", ">", "video MAE", "image probe")),
        "One model trained on both is as good as or better than each single-medium model on its own medium, and "
        "better than each on the other medium.", "OmniMAE, abstract and Figure 2", ("image probe", "video probe"),
        quote=SINGLE_WORDS, baseline="OmniMAE"),),
    base=mae_alone, note="MAE alone for twice the scale's steps; every row's model has the shared visual stem and "
                         "is probed on both media.")


# ---- OmniVL: pretraining paradigms, decoupled joint pretraining, UniVLC -------------------------------------
VISION_LANGUAGE = (IMAGE, VIDEO, CAPTIONS)
OMNIVL_OBJECTIVES = {"contrastive": 1.0, "tasks": 1.0, "mae": 0.25}


def omnivl_plan(config: ExperimentConfig, first: tuple[str, ...], then: tuple[str, ...] | None) -> None:
    """At the config's step budget: an eleventh of MAE, then alignment with the task heads on `first` for the
    rest, or (given `then`) on `first` for half the rest and on `then` for the other half."""
    total = config.train.total_steps
    pretrain = max(1, round(total / 11))
    rest = max(2, total - pretrain)
    stages = [StageConfig("pretrain", pretrain, {"mae": 1.0}, schedule="own")]
    if then is None:
        stages += [StageConfig("align", rest, dict(OMNIVL_OBJECTIVES), list(first), schedule="own")]
    else:
        stages += [StageConfig("first", rest // 2, dict(OMNIVL_OBJECTIVES), list(first), schedule="own"),
                   StageConfig("then", rest - rest // 2, dict(OMNIVL_OBJECTIVES), list(then))]
    config.train.stages = stages


def paradigm(first: tuple[str, ...], then: tuple[str, ...] | None = None):
    return lambda config: omnivl_plan(config, first, then)


IMAGE_TEXT, VIDEO_TEXT = (IMAGE, CAPTIONS), (VIDEO, CAPTIONS)
JOINT, DECOUPLED = paradigm(VISION_LANGUAGE), paradigm(IMAGE_TEXT, VISION_LANGUAGE)
PARADIGM_WORDS = Quote("OmniVL, ablation of decoupled joint pretraining (a table the seed notes give as a picture)",
                       words=(
    "Compared to video-only pretraining, joint pretraining from scratch can significantly improve the performance "
    "on video tasks [...]. However, it produces limited results on image tasks, which is even worse than "
    "image-only pretraining. Img2Vid is another competitive baseline, which however demonstrates degraded "
    "performance on image tasks compared to image-only pretraining."))
DECOUPLED_WORDS = Quote("OmniVL, introduction (the ablation's table is a picture in the seed notes)", words=(
    "We propose a decoupled joint pretraining of image-language and video-language to effectively decompose the "
    "vision-language modeling into spatial and temporal dimensions and obtain performance boost on both image and "
    "video tasks."))
UNIVLC_WORDS = Quote("OmniVL, UniVLC ablation (its Figure 2 is a picture in the seed notes)", words=(
    "Our method performs comparably to vanilla contrast-based model on vision-language tasks [...]. But on visual "
    "only tasks, e.g., linear probing for image/video classification [...], the performance gain is much higher."))
TASKS_NOTE = ("image tasks: mean of the image probe and text->image and image->text attribute P@1; video tasks the "
              "same for video; vision-language P@1: mean of the four P@1.")
OMNIVL_DECOUPLED = Table(
    "omnivl-decoupled", "OmniVL: decoupled joint pretraining", OMNIVL, (Part(
        "pretraining paradigm", "vision-language P@1", (
            Row("joint", JOINT, "image, video and text jointly from the start"),
            Row("decoupled", DECOUPLED, "image-text first, then image, video and text jointly")),
        (Claim("decoupled", ">", "joint", "image tasks"), Claim("decoupled", ">", "joint", "video tasks")),
        "Decoupled joint pretraining improves both image-language and video-language tasks over joint "
        "pretraining from scratch.", "OmniVL, introduction and the ablation of pretraining paradigms",
        ("image tasks", "video tasks", "text->image P@1", "text->video P@1"), quote=DECOUPLED_WORDS),),
    base=on(*VISION_LANGUAGE), note=TASKS_NOTE)
OMNIVL_PARADIGMS = Table(
    "omnivl-paradigms", "OmniVL: image-only, video-only, joint, Img2Vid and decoupled pretraining", OMNIVL, (Part(
        "pretraining paradigms", "vision-language P@1", (
            Row("image-only", paradigm(IMAGE_TEXT), "image-text alone"),
            Row("video-only", paradigm(VIDEO_TEXT), "video-text alone"),
            Row("joint", JOINT, "image, video and text jointly from scratch"),
            Row("Img2Vid", paradigm(IMAGE_TEXT, VIDEO_TEXT), "image-text, then video-text"),
            Row("decoupled", DECOUPLED, "image-text, then image, video and text jointly (OmniVL)")),
        (Claim("joint", ">", "video-only", "video tasks"), Claim("image-only", ">", "joint", "image tasks"),
         Claim("image-only", ">", "Img2Vid", "image tasks"), Claim("decoupled", ">", "joint", "image tasks"),
         Claim("decoupled", ">", "joint", "video tasks")),
        "Joint pretraining beats video-only on video tasks but falls below image-only on image tasks; Img2Vid "
        "also falls below image-only on image tasks; decoupled pretraining improves on joint for both.",
        "OmniVL, ablation of pretraining paradigms", ("image tasks", "video tasks"), quote=PARADIGM_WORDS,
        baseline="joint"),),
    base=on(*VISION_LANGUAGE), note=TASKS_NOTE + " Every row's model has image, video and text; a paradigm "
                                                 "decides what its stages render.")
def without_task_heads(scale: str) -> ExperimentConfig:
    """Image, video and text with every stage's task heads left out (a stage of task heads alone goes)."""
    config = on(*VISION_LANGUAGE)(scale)
    for stage in config.train.stages:
        stage.objectives.pop("tasks", None)
    config.train.stages = [stage for stage in config.train.stages if stage.objectives]
    return config


OMNIVL_UNIVLC = Table(
    "omnivl-univlc", "OmniVL: UniVLC against a vanilla contrastive loss", OMNIVL, (Part(
        "contrastive loss", "visual probe", (
            Row("vanilla", train_fields(univlc=False), "MIL-NCE: an event's own captions are its positives"),
            Row("UniVLC", train_fields(univlc=True), "UniVLC: every caption naming the same label is a positive")),
        (Claim("UniVLC", ">", "vanilla"), Claim("UniVLC", "~", "vanilla", "vision-language P@1", NEAR)),
        "UniVLC is comparable to a vanilla contrastive loss on vision-language tasks and much better on visual-only "
        "tasks such as linear probes.", "OmniVL, UniVLC ablation", ("image probe", "video probe",
                                                                    "vision-language P@1"),
        quote=UNIVLC_WORDS, baseline="vanilla"),),
    base=without_task_heads, note="The plan without its task heads (their labels would teach what UniVLC's labels "
                                  "teach).")

TABLES = (OMNIVEC_GROUPING, OMNIMAE_MASKING, OMNIVL_DECOUPLED, OMNIMAE_SINGLE, OMNIVL_PARADIGMS, OMNIVL_UNIVLC)
