"""Reconstruct tab (MAE): hide a share of the tokens and let the model fill them in."""
from __future__ import annotations

import gradio as gr
import torch

from omnivec_core.analysis.reconstruction import RECONSTRUCTED, ratio_sweep, reconstruct
from omnivec_core.config import MASK_TYPES
from omnivec_core.modalities import REGISTRY
from omnivec_core.modalities.audio import SAMPLE_RATE

from . import media, predictions_view, views
from .components import StillAudio, StillImage
from .downloads import figure_downloads
from .inputs import load_upload
from .state import FOLDER, OMNISHAPES, AppState

PANELS = ("original", "masked input", "raw model output", "reconstruction + visible")


def _input(state: AppState, modality: str, seed: int, index: int, upload: str | None, source: str = OMNISHAPES,
           folder: str = ""):
    """One sample (batch of 1) from an upload, an item of the user's folder or an OmniShapes event; plus notes
    for the UI."""
    if upload:
        tensor, notes = load_upload(upload, modality)
        return tensor.unsqueeze(0), notes
    if source == FOLDER:
        return _folder_input(state, modality, int(index), folder)
    batch = state.world.render(1, seed=int(seed), start=int(index), modalities=(modality,))
    return REGISTRY[modality].batch_input(batch), []


def _folder_input(state: AppState, modality: str, index: int, folder: str):
    """Item `index` of the user's folder (as the Retrieval and Embedding map tabs number it) as `modality`."""
    items = state.pick_gallery(FOLDER, folder, 0).dataset.items
    if not 0 <= index < len(items):
        raise gr.Error(f"the folder has items 0 to {len(items) - 1}; there is no item {index}")
    item = items[index]
    if modality not in item.inputs:
        raise gr.Error(f"item {index} ({item.path}) has no {modality}; it has {', '.join(item.inputs)}")
    return torch.as_tensor(item.inputs[modality]).unsqueeze(0), [f"item {index} of your folder: {item.path} "
                                                                 f"(class: {item.label or 'none'})"]


def run_reconstruction(state: AppState, modality: str, ratio: float, kind: str, seed: int, index: int,
                       mask_seed: int, upload: str | None, source: str = OMNISHAPES, folder: str = ""):
    model = state.require_model()
    spec = REGISTRY[modality]
    try:
        x, notes = _input(state, modality, seed, index, upload, source, folder)
        result = reconstruct(model, modality, x.to(state.device), float(ratio), kind, int(mask_seed))
    except ValueError as error:  # readers.MediaError included
        raise gr.Error(str(error)) from None
    folder = media.scratch_folder()
    hidden = int(result.mask.sum().item())
    report = (f"**{result.score_name}: {result.score:.3f}**, {hidden} of {result.mask.numel()} tokens hidden. "
              "The model never sees the hidden tokens' values or their statistics. Its raw output is trained on "
              "hidden tokens only, so at visible positions it is noise; the last panel keeps the visible tokens "
              "and the model's guesses for the hidden ones.")
    if notes:
        report += "\n\n" + "\n".join(f"- {n}" for n in notes)
    if model.language is not None:  # the whole input, in words (the generation decoder, greedy)
        report += "\n\n" + predictions_view.captions_markdown(model, {modality: x.to(state.device)}, "greedy")
    panels = [views.render(spec.view(spec.show_range(t)), folder, title=title) for t, title in
              zip((result.original, result.masked, result.reconstruction, result.pasted), PANELS)]
    pictures = panels if spec.view_kind in views.PICTURES else [None] * 4
    figures = panels if spec.view_kind in views.FIGURES else [None] * 4
    sounds = [None, None]
    if spec.audible:
        sounds = [media.audio_value(spec.sound_of(t), SAMPLE_RATE) for t in (result.original, result.pasted)]
    return (*pictures, *figures, *sounds, report)


def run_sweep(state: AppState, modality: str, kind: str, seed: int, index: int, mask_seed: int, upload,
              source: str = OMNISHAPES, folder: str = ""):
    model = state.require_model()
    try:
        x, _ = _input(state, modality, seed, index, upload, source, folder)
        points = ratio_sweep(model, modality, x.to(state.device), kind, int(mask_seed))
    except ValueError as error:
        raise gr.Error(str(error)) from None
    name = REGISTRY[modality].score_name
    return media.line_figure([r for r, _ in points], [s for _, s in points], "mask ratio", name,
                             f"{modality}: reconstruction quality vs mask ratio")


def build(state: AppState) -> None:
    gr.Markdown("Hide a share of the input's tokens (MAE masking) and let the model predict them. "
                "OmniMAE trains at 75-95% masking: push the slider and see how much survives.")
    with gr.Row():
        modality = gr.Radio(list(RECONSTRUCTED), value=next(iter(RECONSTRUCTED)), label="modality")
        kind = gr.Dropdown(list(MASK_TYPES), value="random",
                           label="mask type (tube/frame/causal need time: video, audio, imu)")
        ratio = gr.Slider(0.0, 0.95, value=0.75, step=0.05, label="mask ratio")
    with gr.Row():
        source = gr.Radio([OMNISHAPES, FOLDER], value=OMNISHAPES, label="sample from")
        seed = gr.Number(value=0, precision=0, label="OmniShapes seed", minimum=0)
        index = gr.Number(value=0, precision=0, label="event index (or item number in your folder)", minimum=0)
        mask_seed = gr.Number(value=0, precision=0, label="mask seed", minimum=0)
    with gr.Row():
        folder = gr.Textbox(value=str(state.folder or ""), label="your folder (its items numbered as in Retrieval "
                            "and the map)", placeholder="/home/me/clips")
        upload = gr.File(label="or upload your own (image, clip, sound, point cloud, IMU trace)", type="filepath")
    with gr.Row():
        go = gr.Button("Reconstruct", variant="primary")
        sweep = gr.Button("Mask-ratio sweep")
    report = gr.Markdown()
    with gr.Row() as image_row:
        images = [StillImage(label=label, type="pil") for label in PANELS]
    with gr.Row(visible=False) as plot_row:
        plots = [gr.Plot(label=label) for label in PANELS]
    figure_downloads(*plots, name="reconstruction")
    with gr.Row(visible=False) as audio_row:
        heard = [StillAudio(label="original sound"), StillAudio(label="reconstructed sound (Griffin-Lim)")]

    def rows_for(m: str):
        spec = REGISTRY[m]
        return (gr.update(visible=spec.view_kind in views.PICTURES), gr.update(visible=spec.view_kind in views.FIGURES),
                gr.update(visible=spec.audible))
    modality.change(rows_for, modality, [image_row, plot_row, audio_row], api_name=False)
    sweep_plot = gr.Plot(label="sweep")
    figure_downloads(sweep_plot, name="mask ratio sweep")
    inputs = [modality, ratio, kind, seed, index, mask_seed, upload, source, folder]
    go.click(lambda *a: run_reconstruction(state, *a), inputs, images + plots + heard + [report],
             api_name="reconstruct")
    sweep.click(lambda m, r, k, s, i, ms, u, src, f: run_sweep(state, m, k, s, i, ms, u, src, f), inputs, sweep_plot,
                api_name="reconstruct_sweep")
