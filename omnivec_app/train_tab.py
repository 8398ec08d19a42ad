"""Train tab: pick a preset and the knobs that matter, train in the background, watch, load."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import gradio as gr

from .map_tab import timeline_figure
from .state import AppState
from .training import TrainingManager
from omnivec_core.analysis.timeline import NoTimeline, TimelineCache
from omnivec_core.config import (ATTENTIONS, ATTRIBUTE_CLASSES, EMBED_SPACES, MASK_TYPES, MAX_CAPTIONS_PER_EVENT,
                                 MODALITIES, PRESETS, ExperimentConfig, ModelConfig, preset)
from omnivec_core.data.folders import scan_folder
from omnivec_core.objectives import check_plan
from omnivec_core.train.plans import on_folder, set_steps

STAGES = tuple(dict.fromkeys(stage.name for name in PRESETS for stage in preset(name).train.stages))
CLASSROOM = preset("tiny").train  # the knobs start where the tiny preset is, so Start runs the measured plan
CLASSROOM_MODEL = preset("tiny").model


def build_config(preset_name, steps, modalities, stages, image_ratio, video_ratio, droptoken, embed_space,
                 task_grouping, modality_mixing, backbone=None, attention=None, univlc=None, audio_ratio=None,
                 audio_droptoken=0.0, video_mask=None, folder="", folder_share=1.0, captions_per_clip=None,
                 negative_captions=None, depth_ratio=None, points_ratio=None, imu_ratio=None, audio_mask=None,
                 imu_mask=None, pairs=None):
    """The config the knobs describe; a knob left at None keeps the preset's value."""
    if preset_name not in PRESETS:
        raise gr.Error(f"unknown preset {preset_name!r}")
    if not modalities or len(modalities) < 2:
        raise gr.Error("choose at least two modalities (alignment needs pairs)")
    if not stages:
        raise gr.Error("choose at least one stage")
    steps = int(steps)
    if not 10 <= steps <= 100_000:
        raise gr.Error("steps must be between 10 and 100000")
    config = preset(preset_name)
    config.model = model_config(config.model, modalities, embed_space, backbone, attention)
    # a stage on named modalities trains those still chosen; one left with none is left out
    kept = []
    for stage in config.train.stages:
        named = stage.modalities
        stage.modalities = [m for m in named if m in config.model.modalities]
        if stage.name in stages and (stage.modalities or not named):
            kept.append(stage)
    if not kept:
        raise gr.Error(f"none of the chosen stages is in the {preset_name} plan with these modalities "
                       f"(its stages: {', '.join(s.name for s in preset(preset_name).train.stages)})")
    config.train.stages = kept
    set_steps(config.train, steps)  # as `python -m omnivec_core.train --steps` does
    if pairs:  # every contrastive stage also contrasts the other modalities pairwise, as strongly
        for stage in config.train.stages:  # set_steps made them anew
            if "contrastive" in stage.objectives:
                stage.objectives["pairs"] = stage.objectives["contrastive"]
    try:  # here, not in the background process, where the error would be hidden
        check_plan(config.model, config.train)
    except ValueError as error:
        raise gr.Error(str(error)) from None
    config.train.mask_ratio.update(image=float(image_ratio), video=float(video_ratio))
    for name, ratio in (("audio", audio_ratio), ("depth", depth_ratio), ("points", points_ratio), ("imu", imu_ratio)):
        if ratio is not None:
            config.train.mask_ratio[name] = float(ratio)
    for name, kind in (("video", video_mask), ("audio", audio_mask), ("imu", imu_mask)):
        if kind is not None:
            config.train.mask_type[name] = kind
    rates = {"video": float(droptoken), "audio": float(audio_droptoken or 0.0)}
    config.train.droptoken = {m: r for m, r in rates.items() if r and m in config.model.modalities}
    config.train.task_grouping = bool(task_grouping)
    if univlc is not None:
        config.train.univlc = bool(univlc)
    if captions_per_clip is not None:
        config.train.captions_per_event = int(captions_per_clip)
    if negative_captions is not None:
        config.train.negative_captions = int(negative_captions)
    if folder and str(folder).strip():
        config = with_folder(config, str(folder).strip(), float(folder_share))
    try:  # the switches' own checks (mask types, rates), here where they show, not in the background run
        config = ExperimentConfig.from_dict(config.to_dict())
    except ValueError as error:
        raise gr.Error(str(error)) from None
    for stage in config.train.stages:
        stage.modality_mixing = bool(modality_mixing)
    config.train.eval_every = max(10, steps // 10)
    config.train.save_every = max(10, steps // 5)
    return config


def with_folder(config, folder: str, share: float):
    """Every stage also draws `share` of its steps from a folder of the user's media (read now, so a bad
    folder is said here)."""
    try:
        dataset = scan_folder(Path(folder).expanduser())
        return on_folder(config, dataset.root, dataset.classes, share)
    except ValueError as error:
        raise gr.Error(f"cannot train on {folder}: {error}") from None


def command_line(*knobs) -> str:
    """The plan the knobs describe as a file, and the command that trains it without the app."""
    config = build_config(*knobs)
    plan = json.dumps(config.to_dict(), indent=2)
    return ("Save this as `plan.json`, then run\n\n```bash\npython -m omnivec_core.train --config plan.json "
            f"--out runs/my-run\n```\n\n<details><summary>plan.json</summary>\n\n```json\n{plan}\n```\n</details>")


def model_config(model: ModelConfig, modalities, embed_space: str, backbone: str | None = None,
                 attention: str | None = None) -> ModelConfig:
    """The preset's model on the chosen modalities, embedding space, backbone (VATT: one shared or one per
    modality) and attention (joint or divided space-time). The time profile feeds FAC's fine space (and
    through it the coarse one); shared and disjoint have none."""
    chosen = tuple(m for m in MODALITIES if m in modalities)
    time_profile = model.time_profile if embed_space == "fac" else "none"
    try:
        return dataclasses.replace(model, modalities=chosen, embed_space=embed_space, time_profile=time_profile,
                                   backbone=backbone or model.backbone, attention=attention or model.attention)
    except ValueError as error:  # e.g. a disjoint space without video
        raise gr.Error(str(error)) from None


def curves(manager: TrainingManager):
    losses, evals = manager.metrics()
    import plotly.graph_objects as go

    figure = go.Figure()
    if losses:
        keys = sorted({k for r in losses for k in r if "/" in k})
        for key in keys:
            points = [(r["step"], r[key]) for r in losses if key in r]
            figure.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], name=key, mode="lines"))
    figure.update_layout(title="losses", xaxis_title="step", yaxis_type="log", height=360,
                         margin=dict(l=40, r=10, t=40, b=40))
    quality = None
    if evals:
        names = sorted({k for r in evals for k in r["eval"]})
        quality = go.Figure([go.Scatter(x=[r["step"] for r in evals], y=[r["eval"].get(n) for r in evals], name=n,
                                        mode="lines+markers") for n in names])
        quality.update_layout(title="held-out retrieval", xaxis_title="step", yaxis_range=[0, 1], height=360,
                              margin=dict(l=40, r=10, t=40, b=40))
    return figure, quality


def timeline_view(manager: TrainingManager, cache: TimelineCache):
    """The run's latest timeline snapshot (drawn again only when the file grows) and how many there are."""
    run = manager.run
    try:
        aligned = cache.get(run.out) if run is not None else None
    except (NoTimeline, ValueError):  # before its first snapshot
        aligned = None
    if aligned is None:
        return None, ""
    steps = aligned.timeline.steps
    note = (f"Timeline: {len(steps)} snapshots of the shared space so far (steps {steps[0]} to {steps[-1]}). Scrub "
            f"through them in **Embedding map → timeline** (directory `{run.out}`).")
    return timeline_figure(aligned, len(steps) - 1, "modality", 360, "latest snapshot"), note


def build(state: AppState, manager: TrainingManager, on_load) -> None:
    gr.Markdown(f"Train in a background process on **{state.device}**; every other tab stays usable. "
                "`tiny` trains in minutes on a laptop CPU.")
    with gr.Row():
        preset_name = gr.Radio(list(PRESETS), value="tiny", label="preset")
        steps = gr.Number(value=CLASSROOM.total_steps, precision=0, label="steps", minimum=10)
        embed_space = gr.Radio(list(EMBED_SPACES), value="fac", label="embedding space (MMV)")
    with gr.Row():
        modalities = gr.CheckboxGroup(list(MODALITIES), value=list(MODALITIES), label="modalities")
        stages = gr.CheckboxGroup(list(STAGES), value=list(STAGES), label="stages")
    with gr.Row():
        image_ratio = gr.Slider(0.0, 0.95, value=CLASSROOM.mask_ratio["image"], step=0.05, label="image mask ratio")
        video_ratio = gr.Slider(0.0, 0.95, value=CLASSROOM.mask_ratio["video"], step=0.05, label="video mask ratio")
        droptoken = gr.Slider(0.0, 0.75, value=CLASSROOM.droptoken.get("video", 0.0), step=0.05,
                              label="video DropToken rate")
        task_grouping = gr.Checkbox(value=CLASSROOM.task_grouping, label="alternate simple / dense tasks")
        modality_mixing = gr.Checkbox(value=all(s.modality_mixing for s in CLASSROOM.stages),
                                      label="modality-mixed MAE batches")
    with gr.Accordion("more switches: backbone, attention, UniVLC, pairs contrasted, captions, every modality's "
                      "masking, audio DropToken, your own folder", open=False):
        with gr.Row():
            backbone = gr.Radio(["shared", "specific"], value=CLASSROOM_MODEL.backbone,
                                label="backbone (VATT: modality-agnostic or -specific)")
            attention = gr.Radio(list(ATTENTIONS), value=CLASSROOM_MODEL.attention,
                                 label="attention (joint, or divided space-time)")
            univlc = gr.Checkbox(value=CLASSROOM.univlc, label="UniVLC (OmniVL): captions that agree are positives")
            pairs = gr.Checkbox(value=False, label="contrast every pair of modalities directly (off: each with "
                                                   "video only, the rest by emergence, as ImageBind)")
        with gr.Row():
            captions_per_clip = gr.Slider(1, MAX_CAPTIONS_PER_EVENT, value=CLASSROOM.captions_per_event, step=1,
                                          label="captions per clip (each one a positive of its clip)")
            negative_captions = gr.Slider(0, len(ATTRIBUTE_CLASSES), value=CLASSROOM.negative_captions, step=1,
                                          label="counterfactual captions per clip (wrong about one attribute each)")
        with gr.Row():
            audio_ratio, depth_ratio, points_ratio, imu_ratio = (
                gr.Slider(0.0, 0.95, value=CLASSROOM.mask_ratio[m], step=0.05, label=f"{m} mask ratio")
                for m in ("audio", "depth", "points", "imu"))
        with gr.Row():  # the modalities with a time axis; image, depth and points are masked at random
            video_mask, audio_mask, imu_mask = (
                gr.Radio(list(MASK_TYPES), value=CLASSROOM.mask_type[m], label=f"{m} mask type")
                for m in ("video", "audio", "imu"))
            audio_droptoken = gr.Slider(0.0, 0.75, value=CLASSROOM.droptoken.get("audio", 0.0), step=0.05,
                                        label="audio DropToken rate")
        with gr.Row():
            folder = gr.Textbox(label="also train on a folder of your own media (class folders of clips, ...)",
                                placeholder="/home/me/clips")
            folder_share = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="share of steps from the folder")
    with gr.Row():
        start, stop, load = gr.Button("Start", variant="primary"), gr.Button("Stop"), gr.Button("Load result into all tabs")
        show = gr.Button("Show the command line")
    command = gr.Markdown()
    status = gr.Markdown(manager.status())
    with gr.Row():
        loss_plot, eval_plot = gr.Plot(label="losses"), gr.Plot(label="held-out retrieval")
    with gr.Row():
        timeline_plot, timeline_note = gr.Plot(label="shared space, latest timeline snapshot"), gr.Markdown()
    timer, timeline = gr.Timer(2.0), TimelineCache(keep=1)

    def start_run(*knobs):
        try:
            manager.start(build_config(*knobs), str(state.device))
        except RuntimeError as error:
            raise gr.Error(str(error)) from None
        return manager.status()

    def load_result():
        run = manager.run
        if run is None or run.running() or not (run.out / "model.safetensors").is_file():
            raise gr.Error("no finished run to load yet")
        state.load(run.out)
        return f"Loaded **{run.out.name}** into every tab."

    knobs = [preset_name, steps, modalities, stages, image_ratio, video_ratio, droptoken, embed_space,
             task_grouping, modality_mixing, backbone, attention, univlc, audio_ratio, audio_droptoken, video_mask,
             folder, folder_share, captions_per_clip, negative_captions, depth_ratio, points_ratio, imu_ratio,
             audio_mask, imu_mask, pairs]
    start.click(start_run, knobs, status, api_name="train")
    show.click(command_line, knobs, command, api_name="train_command")
    stop.click(manager.stop, None, status, api_name="train_stop")
    load.click(load_result, None, status, api_name="train_load").then(*on_load)
    timer.tick(lambda: (manager.status(), *curves(manager), *timeline_view(manager, timeline)), None,
               [status, loss_plot, eval_plot, timeline_plot, timeline_note], api_name=False, show_progress="hidden")
