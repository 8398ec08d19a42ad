"""The papers' tables, one declaration each: the base config, the rows (small functions that change it), the
metric that decides the table, and the paper's finding as claims about the rows' order.

The papers' findings are given in words, as we read them; no figure is quoted that we are not sure of, and
the claims compare the *order* of our rows with the order the paper reports, never our values with theirs
(OmniShapes is not Kinetics)."""
from __future__ import annotations

from ..config import ExperimentConfig, StageConfig, preset
from . import measures
from .spec import Claim, Part, Row, Table, model_fields, train_fields

OMNIVEC = "OmniVec (Srivastava & Sharma, WACV 2024)"
VATT = "VATT (Akbari et al., NeurIPS 2021)"
MMV = "MMV (Alayrac et al., NeurIPS 2020)"
OMNIMAE = "OmniMAE (Girdhar et al., CVPR 2023)"
OMNIVL = "OmniVL (Wang et al., NeurIPS 2022)"
NEAR = 0.03  # "about as good": within 3 points of accuracy or precision


# ---- OmniVec: task grouping x modality mixing ------------------------------------------------------------
def grouping(task_grouping: bool, mixing: bool):
    def change(config: ExperimentConfig) -> None:
        config.train.task_grouping = task_grouping
        for stage in config.train.stages:
            stage.modality_mixing = mixing
    return change


OMNIVEC_GROUPING = Table(
    "omnivec-grouping", "OmniVec: task grouping and modality mixing", OMNIVEC, (Part(
        "task grouping x modality mixing", "mean probe", (
            Row("OmniVec-1", grouping(False, False), "no task grouping, no modality mixing", "below OmniVec-4"),
            Row("OmniVec-2", grouping(True, False), "task grouping only", "below OmniVec-4"),
            Row("OmniVec-3", grouping(False, True), "modality mixing only", "below OmniVec-4"),
            Row("OmniVec-4", grouping(True, True), "task grouping and modality mixing (OmniVec's recipe)", "best")),
        (Claim("OmniVec-4", ">", "OmniVec-1"), Claim("OmniVec-4", ">", "OmniVec-2"),
         Claim("OmniVec-4", ">", "OmniVec-3")),
        "OmniVec pretrains on modality-mixed minibatches and fine-tunes with tasks grouped (simple, then dense); its "
        "ablation reports the full recipe as the best. Exact figures are not quoted; the names OmniVec-1..4 for the "
        "cells of this 2x2 grid are ours.",
        "OmniVec, ablation of the training recipe", ("mean attribute P@1", "zero-shot")),),
    note="Task grouping acts on the steps with task heads, modality mixing on the MAE steps. With task grouping the "
         "classification and dense tasks take alternate task steps, so at an equal step budget each head is updated "
         "half as often as without it. Measured once by a control (bench/grouping_updates.py, now in git history: OmniVec-1 with its heads "
         "trained on even steps only, the same 330 steps and 256 events): halving the head updates alone lowers the "
         "mean probe from 0.828 to 0.773, 0.055 of the 0.075 by which OmniVec-2 falls below OmniVec-1. OmniVec's "
         "grouping pays off over a long fine-tuning, not at a toy budget.")


# ---- MMV: shared / disjoint / fine-and-coarse spaces -------------------------------------------------------
def mmv_base(scale: str) -> ExperimentConfig:
    config = preset(scale)
    config.model.time_profile = "none"  # the time profile feeds the FAC fine space only: off for every row
    return config


MMV_SPACES = Table(
    "mmv-spaces", "MMV: shared, disjoint and fine-and-coarse spaces", MMV, (Part(
        "embedding spaces", "downstream", (
            Row("shared", model_fields(embed_space="shared"), "one space for every modality", "below FAC"),
            Row("disjoint", model_fields(embed_space="disjoint"), "one space per pair with video", "below FAC"),
            Row("fac", model_fields(embed_space="fac"), "fine video-audio space, coarse space with text", "best")),
        (Claim("fac", ">", "shared"), Claim("fac", ">", "disjoint")),
        "MMV compares a shared space, disjoint pairwise spaces and its fine-and-coarse (FAC) design for video, audio "
        "and text, and adopts FAC, best overall on its downstream tasks (video and audio linear classification, "
        "zero-shot text-video retrieval). Exact figures are not quoted.",
        "MMV, design explorations of the multimodal spaces (section 4)",
        ("video probe", "audio probe", "text->video P@1", "video->audio R@1")),),
    base=mmv_base, note="downstream: mean of the video probe, the audio probe and text->video attribute P@1.")


# ---- VATT: DropToken at 0/25/50/75 % ----------------------------------------------------------------------
def droptoken(rate: float):
    return train_fields(droptoken={"video": rate, "audio": rate})


RATES = ("0 %", "25 %", "50 %", "75 %")
VATT_DROPTOKEN = Table(
    "vatt-droptoken", "VATT: DropToken", VATT, (Part(
        "DropToken rate in training", "video probe", tuple(
            Row(name, droptoken(rate), f"{name} of video and audio tokens dropped in training",
                "VATT's choice" if rate == 0.5 else "")
            for name, rate in zip(RATES, (0.0, 0.25, 0.5, 0.75))),
        (*(Claim(a, ">", b, "video GFLOPs") for a, b in zip(RATES, RATES[1:])),
         Claim("25 %", ">~", "0 %", tol=NEAR), Claim("50 %", ">~", "0 %", tol=NEAR)),
        "VATT drops a random share of the video and audio tokens during pretraining and settles on 50 %: the cost "
        "falls steeply with the rate (attention is quadratic in the tokens) while accuracy stays close to training "
        "on every token. Exact figures are not quoted.",
        "VATT, DropToken (method section and its ablation)",
        ("video GFLOPs", "video->audio R@1", "downstream"), extra=measures.droptoken_cost),),
    note="video GFLOPs: encoding one clip at the row's training rate (stem, projection, transformer); "
         "the probe reads every token.")


# ---- VATT: modality-specific vs modality-agnostic backbone -------------------------------------------------
VATT_BACKBONE = Table(
    "vatt-backbone", "VATT: modality-specific or modality-agnostic backbone", VATT, (Part(
        "backbone", "downstream", (
            Row("specific", model_fields(backbone="specific"), "one transformer per modality", "reference"),
            Row("agnostic", model_fields(backbone="shared"), "one transformer shared by every modality",
                "about as good, far fewer parameters")),
        (Claim("agnostic", "~", "specific", tol=NEAR), Claim("agnostic", "<", "specific", "backbone params (M)")),
        "VATT also trains one modality-agnostic backbone shared by video, audio and text: it stays competitive with "
        "modality-specific backbones while holding a fraction of their parameters. Exact figures are not quoted.",
        "VATT, modality-agnostic backbone (VATT-MA) against the modality-specific models",
        ("backbone params (M)", "video probe", "audio probe", "text->video P@1"),
        extra=measures.parameters),),
    note="downstream: mean of the video probe, the audio probe and text->video attribute P@1.")


# ---- MMV: deflation ----------------------------------------------------------------------------------------
def video_network(scale: str) -> ExperimentConfig:
    """The base plan on video, audio and text alone: a network that never saw a still image."""
    config = preset(scale)
    config.model.modalities = ("video", "audio", "text")
    for stage in config.train.stages:
        if stage.modalities:
            stage.modalities = list(dict.fromkeys("video" if m == "image" else m for m in stage.modalities
                                                  if m == "image" or m in config.model.modalities))
    return config


MMV_DEFLATION = Table(
    "mmv-deflation", "MMV: deflating a video network for still images", MMV, (Part(
        "ways to give a video network an image", "shape probe", (
            Row("n-def", setting="one-frame clip, every tubelet filter's first tap only", paper="worst"),
            Row("def", setting="temporal filters summed over time", paper="above n-def"),
            Row("def+corr", setting="def with a per-channel scale and shift fit by L1 to i-inf",
                paper="close to i-inf"),
            Row("i-inf", setting="the image repeated into a static clip (full video cost)", paper="reference"),
            Row("video (clips)", setting="the real clips, for reference", paper="—")),
        (Claim("def", ">", "n-def"), Claim("def+corr", ">~", "def", tol=0.01), Claim("i-inf", ">", "n-def")),
        "MMV turns its video network into an image network by deflation. As we read the paper: applying it "
        "naively (n-def) does worst, summing the temporal filters (def) does better, and a learned correction of "
        "the deflated network (def+corr) closes most of the gap to input inflation (i-inf), which costs as much as "
        "a clip. Qualitative; exact figures are not quoted.",
        "MMV, deflation (section 3.3) and its image-classification results",
        ("to text P@1", "from text P@1", "L1"), evaluate=False, extra=measures.deflation_way, one_model=True),),
    base=video_network, note="one video network (video, audio, text) is trained; the rows are ways to feed it stills.")


# ---- OmniMAE: mask ratios, and sample replication -------------------------------------------------------
def mask_ratios(image: float, video: float):
    def change(config: ExperimentConfig) -> None:
        config.train.mask_ratio.update(image=image, video=video)
    return change


OMNIMAE_MASKING = Table(
    "omnimae-masking", "OmniMAE: extreme mask ratios and sample replication", OMNIMAE, (
        Part("mask ratios (image / video)", "visual probe", (
            Row("90/95", mask_ratios(0.9, 0.95), "90 % of image and 95 % of video patches hidden (OmniMAE)",
                "as good, cheaper"),
            Row("75/90", mask_ratios(0.75, 0.9), "75 % and 90 % hidden (MAE's and VideoMAE's usual ratios)",
                "reference")),
            (Claim("90/95", ">~", "75/90", tol=NEAR),),
            "OmniMAE hides 90 % of image and 95 % of video patches: at these extreme ratios the representation is as "
            "good as at lower ones while the encoder sees far fewer tokens, so training is much cheaper. Exact "
            "figures are not quoted.",
            "OmniMAE, masking ratio ablation", ("image probe", "video probe", "train s")),
        Part("sample replication", "s to target", (
            Row("n=1", setting="every event once", paper="reference", run=measures.replication(1)),
            Row("n=2", setting="each event twice, masked apart", paper="faster", run=measures.replication(2)),
            Row("n=4", setting="each event four times, masked apart", paper="faster", run=measures.replication(4))),
            (Claim("n=2", "<", "n=1"), Claim("n=4", "<", "n=1")),
            "OmniMAE's sample replication repeats each decoded sample in a batch under different masks, cutting the "
            "cost of loading data: training takes less wall-clock time without hurting accuracy. Exact figures "
            "are not quoted.",
            "OmniMAE, sample replication", ("steps to target", "median s/step", "median render s", "final loss"),
            higher_is_better=False, evaluate=False, derive=measures.time_to_target)),
    note="Sample replication: MAE alone on image and video (bench/sample_replication.py) at the row budget's steps; "
         "the target is the held-out MAE loss n=1 reaches halfway; wall-clock swings with the machine's load. "
         "Replication saves only the rendering of the repeated events: where rendering (median render s) is a small "
         "share of a step (median s/step), the fewer distinct events per batch cost more steps than it saves.")


# ---- OmniVL: decoupled joint pretraining --------------------------------------------------------------------
VISION_LANGUAGE = ("image", "video", "text")


def omnivl_plan(config: ExperimentConfig, decoupled: bool) -> None:
    """On image, video and text, at the config's step budget: an eleventh of MAE, then joint image+video+text
    alignment with the task heads, or (decoupled) image-text first for half the rest, then joint."""
    total = config.train.total_steps
    config.model.modalities = VISION_LANGUAGE
    pretrain = max(1, round(total / 11))
    rest = max(2, total - pretrain)
    objectives = {"contrastive": 1.0, "tasks": 1.0, "mae": 0.25}
    stages = [StageConfig("pretrain", pretrain, {"mae": 1.0}, schedule="own")]
    if decoupled:
        stages += [StageConfig("image-text", rest // 2, objectives, ["image", "text"], schedule="own"),
                   StageConfig("joint", rest - rest // 2, objectives)]
    else:
        stages += [StageConfig("joint", rest, objectives, schedule="own")]
    config.train.stages = stages


OMNIVL_DECOUPLED = Table(
    "omnivl-decoupled", "OmniVL: decoupled joint pretraining", OMNIVL, (Part(
        "pretraining paradigm", "vision-language P@1", (
            Row("joint", lambda c: omnivl_plan(c, False), "image, video and text jointly from the start",
                "below decoupled"),
            Row("decoupled", lambda c: omnivl_plan(c, True), "image-text first, then image, video and text jointly",
                "better on image- and video-language tasks")),
        (Claim("decoupled", ">", "joint"),),
        "OmniVL's decoupled joint pretraining (image-language first, then image- and video-language jointly) "
        "improves both image-language and video-language tasks over joint pretraining from the start. Exact "
        "figures are not quoted.",
        "OmniVL, abstract and the ablation of pretraining paradigms",
        ("text->image P@1", "text->video P@1", "image probe", "video probe")),),
    note="vision-language P@1: mean attribute precision@1 of text->image, image->text, text->video, video->text.")


TABLES: dict[str, Table] = {t.name: t for t in (OMNIVEC_GROUPING, MMV_SPACES, VATT_DROPTOKEN, VATT_BACKBONE,
                                                 MMV_DEFLATION, OMNIMAE_MASKING, OMNIVL_DECOUPLED)}
