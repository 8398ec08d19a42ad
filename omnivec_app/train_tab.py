"""Train tab: switches that write a plan (the JSON a plan file holds), train it in the background, watch, load."""
from __future__ import annotations

import dataclasses
import json

import gradio as gr

from .downloads import figure_downloads
from .map_tab import timeline_figure
from .paths import PathPolicy
from .state import AppState
from .training import TrainingManager
from omnivec_core.analysis.timeline import NoTimeline, TimelineCache
from omnivec_core.config import (ATTENTIONS, ATTRIBUTE_CLASSES, EMBED_SPACES, MASK_TYPES, MAX_CAPTIONS_PER_EVENT,
                                 MODALITIES, PRESETS, ExperimentConfig, ModelConfig, preset)
from omnivec_core.modalities import REGISTRY
from omnivec_core.data.folders import scan_folder
from omnivec_core.train.plans import build_config, on_folder, set_steps

STAGES = tuple(dict.fromkeys(stage.name for name in PRESETS for stage in preset(name).train.stages))
START = "lesson"  # the preset the tab starts at: two minutes on a laptop's CPU, which a class can wait for
CLASSROOM = preset(START).train  # the knobs start where that preset is, so Start runs the measured plan
CLASSROOM_MODEL = preset(START).model
MASKED = tuple(m for m, spec in REGISTRY.items() if spec.reconstruct)  # a mask ratio each
TIMED = tuple(m for m in MASKED if REGISTRY[m].grid[0] > 1)  # a mask type (tube, frame, causal) and a DropToken rate
NO_TRAIN = ("training is switched off on this server (it was started with --no-train), so Start and /train "
            "start nothing here and no run is loaded into everyone's tabs; every other tab works as usual")
PLAN_HELP = ("The plan the switches describe: the JSON a plan file holds (edit it freely; Start trains what it "
             "says). `python -m omnivec_core.train --config plan.json` trains the same.")


def plan_from_knobs(knobs: dict, paths: PathPolicy | None = None) -> dict:
    """The plan (a plan file's JSON) the Train tab's switches describe: their preset with the chosen modalities,
    stages, steps and switches. Per-modality switches come as dicts keyed by modality (mask_ratio, mask_type,
    droptoken); a switch left out keeps the preset's value. A folder to train on goes through `paths` (the
    app's path policy; None: any folder)."""
    name = knobs.get("preset", START)
    if name not in PRESETS:
        raise gr.Error(f"unknown preset {name!r}")
    steps = int(knobs.get("steps", preset(name).train.total_steps))
    modalities = knobs.get("modalities", list(preset(name).model.modalities))
    if not modalities or len(modalities) < 2:
        raise gr.Error("choose at least two modalities (alignment needs pairs)")
    if not 10 <= steps <= 100_000:
        raise gr.Error("steps must be between 10 and 100000")
    config = preset(name)
    config.model = model_config(config.model, modalities, knobs.get("embed_space", config.model.embed_space),
                                knobs.get("backbone"), knobs.get("attention"))
    config.train.stages = chosen_stages(config, name, knobs.get("stages", list(STAGES)))
    set_steps(config.train, steps)  # as `python -m omnivec_core.train --steps` does
    train = config.train
    if knobs.get("pairs"):  # every contrastive stage also contrasts the other modalities pairwise, as strongly
        for stage in train.stages:
            if "contrastive" in stage.objectives:
                stage.objectives["pairs"] = stage.objectives["contrastive"]
    train.mask_ratio.update({m: float(r) for m, r in knobs.get("mask_ratio", {}).items()})
    train.mask_type.update(knobs.get("mask_type", {}))
    if "droptoken" in knobs:
        train.droptoken = {m: float(r) for m, r in knobs["droptoken"].items() if r and m in config.model.modalities}
    for field, knob in (("task_grouping", "task_grouping"), ("univlc", "univlc"), ("momentum_queue", "momentum_queue"),
                        ("captions_per_event", "captions_per_clip"), ("negative_captions", "negative_captions")):
        if knobs.get(knob) is not None:
            setattr(train, field, type(getattr(train, field))(knobs[knob]))
    if knobs.get("modality_mixing") is not None:
        for stage in train.stages:
            stage.modality_mixing = bool(knobs["modality_mixing"])
    if str(knobs.get("folder") or "").strip():
        config = with_folder(config, str(knobs["folder"]).strip(), float(knobs.get("folder_share", 1.0)), paths)
    train.eval_every, train.save_every = max(10, steps // 10), max(10, steps // 5)
    return config.to_dict()


def chosen_stages(config: ExperimentConfig, name: str, stages) -> list:
    """The preset's stages that are chosen; a stage on named modalities trains those still chosen, and one left
    with none is left out."""
    kept = []
    for stage in config.train.stages:
        named = stage.modalities
        stage.modalities = [m for m in named if m in config.model.modalities]
        if stage.name in stages and (stage.modalities or not named):
            kept.append(stage)
    if not kept:
        raise gr.Error(f"none of the chosen stages is in the {name} plan with these modalities "
                       f"(its stages: {', '.join(s.name for s in preset(name).train.stages)})")
    return kept


def read_plan(text: str) -> ExperimentConfig:
    """The plan text of the Train tab (or of /train) as the config it trains, through the one config builder;
    a clear message for text that is not a plan."""
    if not text or not str(text).strip():
        raise gr.Error("the plan is empty: choose the switches, or paste a plan file's JSON")
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as error:
        raise gr.Error(f"the plan is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    try:
        return build_config(plan=plan)
    except ValueError as error:
        raise gr.Error(f"the plan cannot be trained: {error}") from None


def with_folder(config, folder: str, share: float, paths: PathPolicy | None = None):
    """Every stage also draws `share` of its steps from a folder of the user's media (read now, so a bad
    folder is said here); on a shared server only a folder the path policy allows."""
    try:
        dataset = scan_folder((paths or PathPolicy()).check(folder))
        return on_folder(config, dataset.root, dataset.classes, share)
    except ValueError as error:
        raise gr.Error(f"cannot train on {folder}: {error}") from None


def allowed_folders(config: ExperimentConfig, paths: PathPolicy) -> ExperimentConfig:
    """The plan's folders to train on (stages[].folder), each through the path policy: a typed plan may name
    any folder, so on a shared server one outside its allowed folders is refused before the run starts, and
    one allowed is written resolved (the trainer runs in the repository, not the app's directory)."""
    for i, stage in enumerate(config.train.stages):
        if stage.folder:
            try:
                checked = paths.check(stage.folder)
            except ValueError as error:
                raise gr.Error(f"stage {i + 1} ({stage.name}) cannot train on its folder: {error}") from None
            if paths.restricted:
                stage.folder = str(checked)
    return config


def command_line(plan: str) -> str:
    """The plan as a file, and the command that trains it without the app."""
    shown = json.dumps(read_plan(plan).to_dict(), indent=2)
    return ("Save this as `plan.json`, then run\n\n```bash\npython -m omnivec_core.train --config plan.json "
            f"--out runs/my-run\n```\n\n<details><summary>plan.json</summary>\n\n```json\n{shown}\n```\n</details>")


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
                "`lesson` trains in two minutes on a laptop CPU (picture, clip, sound, text), `tiny` in about ten "
                "(all seven)." + ("" if state.training else f"\n\n**Note:** {NO_TRAIN}."))
    knobs = {}  # name -> component; per-modality switches under "<switch>:<modality>"
    with gr.Row():
        knobs["preset"] = gr.Radio(list(PRESETS), value=START, label="preset")
        knobs["steps"] = gr.Number(value=CLASSROOM.total_steps, precision=0, label="steps", minimum=10)
        knobs["embed_space"] = gr.Radio(list(EMBED_SPACES), value="fac", label="embedding space (MMV)")
    with gr.Row():
        knobs["modalities"] = gr.CheckboxGroup(list(MODALITIES), value=list(CLASSROOM_MODEL.modalities),
                                               label="modalities")
        knobs["stages"] = gr.CheckboxGroup(list(STAGES), value=[s.name for s in CLASSROOM.stages], label="stages")
    with gr.Row():
        knobs["task_grouping"] = gr.Checkbox(value=CLASSROOM.task_grouping, label="alternate simple / dense tasks")
        knobs["modality_mixing"] = gr.Checkbox(value=all(s.modality_mixing for s in CLASSROOM.stages),
                                               label="modality-mixed MAE batches")
        knobs["univlc"] = gr.Checkbox(value=CLASSROOM.univlc, label="UniVLC (OmniVL): captions that agree are positives")
        knobs["momentum_queue"] = gr.Slider(0, 512, value=CLASSROOM.momentum_queue, step=32,
                                            label="UniVLC memory bank: recent clips a momentum encoder keeps (OmniVL; 0 off)")
        knobs["pairs"] = gr.Checkbox(value=False, label="contrast every pair of modalities directly (off: each with "
                                                        "video only, the rest by emergence, as ImageBind)")
    with gr.Row():  # MAE masking: one ratio per reconstructed modality
        for m in MASKED:
            knobs[f"mask_ratio:{m}"] = gr.Slider(0.0, 0.95, value=CLASSROOM.mask_ratio[m], step=0.05,
                                                 label=f"{m} mask ratio")
    with gr.Accordion("more switches: backbone, attention, captions, masking over time, DropToken, your own folder",
                      open=False):
        with gr.Row():
            knobs["backbone"] = gr.Radio(["shared", "specific"], value=CLASSROOM_MODEL.backbone,
                                         label="backbone (VATT: modality-agnostic or -specific)")
            knobs["attention"] = gr.Radio(list(ATTENTIONS), value=CLASSROOM_MODEL.attention,
                                          label="attention (joint, or divided space-time)")
            knobs["captions_per_clip"] = gr.Slider(1, MAX_CAPTIONS_PER_EVENT, value=CLASSROOM.captions_per_event,
                                                   step=1, label="captions per clip (each one a positive of its clip)")
            knobs["negative_captions"] = gr.Slider(0, len(ATTRIBUTE_CLASSES), value=CLASSROOM.negative_captions,
                                                   step=1, label="counterfactual captions per clip (wrong about one "
                                                                 "attribute each)")
        with gr.Row():  # the modalities with a time axis: how they are masked, and VATT's DropToken
            for m in TIMED:
                knobs[f"mask_type:{m}"] = gr.Radio(list(MASK_TYPES), value=CLASSROOM.mask_type[m],
                                                   label=f"{m} mask type")
                knobs[f"droptoken:{m}"] = gr.Slider(0.0, 0.75, value=CLASSROOM.droptoken.get(m, 0.0), step=0.05,
                                                    label=f"{m} DropToken rate")
        with gr.Row():
            knobs["folder"] = gr.Textbox(label="also train on a folder of your own media (class folders of clips, ...)",
                                         placeholder="/home/me/clips")
            knobs["folder_share"] = gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="share of steps from the folder")
    with gr.Row():
        start = gr.Button("Start", variant="primary", interactive=state.training)
        stop, load = gr.Button("Stop"), gr.Button("Load result into all tabs", interactive=state.training)
        show = gr.Button("Show the command line")
    with gr.Accordion("the plan these switches write (JSON, editable)", open=False):
        gr.Markdown(PLAN_HELP)
        plan = gr.Code(json.dumps(plan_from_knobs(named_knobs(list(knobs), [k.value for k in knobs.values()])),
                                  indent=2), language="json", label="plan", interactive=True, max_lines=30)
    command = gr.Markdown()
    status = gr.Markdown(manager.status())
    with gr.Row():
        loss_plot, eval_plot = gr.Plot(label="losses"), gr.Plot(label="held-out retrieval")
    with gr.Row():
        timeline_plot, timeline_note = gr.Plot(label="shared space, latest timeline snapshot"), gr.Markdown()
    figure_downloads(loss_plot, eval_plot, timeline_plot, name="training")
    timer, timeline = gr.Timer(2.0), TimelineCache(keep=1)

    def describe(*values):
        return json.dumps(plan_from_knobs(named_knobs(list(knobs), values), state.paths), indent=2)

    def start_run(plan_text: str):
        if not state.training:
            raise gr.Error(NO_TRAIN)
        try:
            manager.start(allowed_folders(read_plan(plan_text), state.paths), str(state.device))
        except RuntimeError as error:
            raise gr.Error(str(error)) from None
        return manager.status()

    def load_result():
        if not state.training:  # loading swaps the model on every page: the teacher's call on a shared server
            raise gr.Error(NO_TRAIN)
        run = manager.run
        if run is None or run.running() or not (run.out / "model.safetensors").is_file():
            raise gr.Error("no finished run to load yet")
        state.load(run.out)
        return f"Loaded **{run.out.name}** into every tab."

    follows = [name for name in preset_knobs(START) if name in knobs]  # the switches a preset sets
    knobs["preset"].input(lambda name: [preset_knobs(name)[k] for k in follows], knobs["preset"],
                          [knobs[name] for name in follows], api_name=False)
    gr.on([k.change for k in knobs.values()], describe, list(knobs.values()), plan, api_name=False,
          show_progress="hidden")
    start.click(start_run, plan, status, api_name="train")
    show.click(command_line, plan, command, api_name="train_command")
    stop.click(manager.stop, None, status, api_name="train_stop")
    load.click(load_result, None, status, api_name="train_load").then(*on_load)
    timer.tick(lambda: (manager.status(), *curves(manager), *timeline_view(manager, timeline)), None,
               [status, loss_plot, eval_plot, timeline_plot, timeline_note], api_name=False, show_progress="hidden")


def preset_knobs(name: str) -> dict:
    """The switches' values a preset starts at, by knob name: picking a preset sets them, so its plan is the one
    measured (the lesson's two minutes, tiny's ten) until a switch is moved."""
    config = preset(name)
    train, model = config.train, config.model
    values = {"steps": train.total_steps, "modalities": list(model.modalities),
              "stages": [s.name for s in train.stages], "embed_space": model.embed_space,
              "task_grouping": train.task_grouping, "modality_mixing": all(s.modality_mixing for s in train.stages),
              "univlc": train.univlc, "momentum_queue": train.momentum_queue, "backbone": model.backbone,
              "attention": model.attention, "captions_per_clip": train.captions_per_event,
              "negative_captions": train.negative_captions}
    for m in MASKED:
        values[f"mask_ratio:{m}"] = train.mask_ratio[m]
    for m in TIMED:
        values[f"mask_type:{m}"], values[f"droptoken:{m}"] = train.mask_type[m], train.droptoken.get(m, 0.0)
    return values


def named_knobs(names: list[str], values) -> dict:
    """The switches' values by name, per-modality ones gathered into a dict per switch ("mask_ratio:<m>" ->
    knobs["mask_ratio"][m])."""
    knobs: dict = {}
    for name, value in zip(names, values):
        switch, _, modality = name.partition(":")
        if modality:
            knobs.setdefault(switch, {})[modality] = value
        else:
            knobs[name] = value
    return knobs
