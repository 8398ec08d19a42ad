"""Reconstruct tab (MAE): hide a share of the tokens and let the model fill them in."""
from __future__ import annotations

import gradio as gr
import torch

from omnivec_core.analysis.reconstruction import RECONSTRUCTABLE, ratio_sweep, reconstruct
from omnivec_core.config import MASK_TYPES
from omnivec_core.data import readers
from omnivec_core.objectives.plan import model_input

from . import media
from .components import StillAudio, StillImage
from .inputs import load_upload
from .state import AppState


def _input(state: AppState, modality: str, seed: int, index: int, upload: str | None):
    """One sample (batch of 1) from an upload or from an OmniShapes event; plus notes for the UI."""
    if upload:
        loaded = load_upload(upload, modality)
        tensor = readers.audio_to_model(loaded.waveform) if modality == "audio" else loaded.tensor
        return tensor.unsqueeze(0), loaded.notes
    batch = state.world.render(1, seed=int(seed), start=int(index), modalities=(modality,))
    return model_input(batch, modality), []


def _show(modality: str, x: torch.Tensor, folder):
    """A panel for one sample in input layout: PIL image, GIF path, or plotly points."""
    if modality == "image":
        return media.to_pil(x)
    if modality == "depth":
        return media.heat_map(x[0])
    if modality == "audio":
        return media.heat_map(x[0].flip(0))
    if modality == "video":
        return media.write_gif(x, folder, f"clip-{id(x)}")
    raise ValueError(modality)


def run_reconstruction(state: AppState, modality: str, ratio: float, kind: str, seed: int, index: int,
                       mask_seed: int, upload: str | None):
    model = state.require_model()
    try:
        x, notes = _input(state, modality, seed, index, upload)
        result = reconstruct(model, modality, x.to(state.device), float(ratio), kind, int(mask_seed))
    except ValueError as error:  # readers.MediaError included
        raise gr.Error(str(error)) from None
    folder = media.scratch_folder()
    hidden = int(result.mask.sum().item())
    leaky = model.stem_crosses_patches(modality) and not model.cfg.mask_before_stem
    seen = ("This model was trained before hidden patches were blanked ahead of its conv stem, so its "
            "visible tokens carry a few pixels of their hidden neighbours and the score flatters it. "
            if leaky else "The model never sees the hidden tokens' values or their statistics. ")
    report = (f"**{result.score_name}: {result.score:.3f}**, {hidden} of {result.mask.numel()} tokens hidden. "
              f"{seen}Its raw output is trained on hidden tokens only, so at visible positions it is noise; "
              "the last panel keeps the visible tokens and the model's guesses for the hidden ones.")
    if notes:
        report += "\n\n" + "\n".join(f"- {n}" for n in notes)
    if modality == "points":
        panels = [media.point_figure(p, torch.zeros(len(p)), title) for p, title in
                  ((result.original, "original"), (result.masked, "visible groups"),
                   (result.reconstruction, "reconstruction"), (result.pasted, "reconstruction + visible"))]
        return (None,) * 4 + tuple(panels) + (None, None, report)
    images = tuple(_show(modality, t.clamp(0, 1) if modality != "audio" else t, folder)
                   for t in (result.original, result.masked, result.reconstruction, result.pasted))
    sounds = (None, None)
    if modality == "audio":
        sounds = (media.audio_value(torch.from_numpy(media.mel_to_waveform(result.original)), 16000),
                  media.audio_value(torch.from_numpy(media.mel_to_waveform(result.pasted)), 16000))
    return images + (None,) * 4 + sounds + (report,)


def run_sweep(state: AppState, modality: str, kind: str, seed: int, index: int, mask_seed: int, upload):
    model = state.require_model()
    try:
        x, _ = _input(state, modality, seed, index, upload)
        points = ratio_sweep(model, modality, x.to(state.device), kind, int(mask_seed))
    except ValueError as error:
        raise gr.Error(str(error)) from None
    name = "Chamfer" if modality == "points" else "PSNR (dB)"
    return media.line_figure([r for r, _ in points], [s for _, s in points], "mask ratio", name,
                             f"{modality}: reconstruction quality vs mask ratio")


def build(state: AppState) -> None:
    gr.Markdown("Hide a share of the input's tokens (MAE masking) and let the model predict them. "
                "OmniMAE trains at 75-95% masking: push the slider and see how much survives.")
    with gr.Row():
        modality = gr.Radio(list(RECONSTRUCTABLE), value="image", label="modality")
        kind = gr.Dropdown(list(MASK_TYPES), value="random", label="mask type (tube/frame/causal need time: video, audio)")
        ratio = gr.Slider(0.0, 0.95, value=0.75, step=0.05, label="mask ratio")
    with gr.Row():
        seed = gr.Number(value=0, precision=0, label="OmniShapes seed", minimum=0)
        index = gr.Number(value=0, precision=0, label="event index", minimum=0)
        mask_seed = gr.Number(value=0, precision=0, label="mask seed", minimum=0)
        upload = gr.File(label="or upload your own (image, clip, sound, point cloud)", type="filepath")
    with gr.Row():
        go = gr.Button("Reconstruct", variant="primary")
        sweep = gr.Button("Mask-ratio sweep")
    report = gr.Markdown()
    with gr.Row() as image_row:
        images = [StillImage(label=l, type="pil") for l in
                  ("original", "masked input", "raw model output", "reconstruction + visible")]
    with gr.Row(visible=False) as plot_row:
        plots = [gr.Plot(label=l) for l in ("original", "visible groups", "reconstruction", "reconstruction + visible")]
    with gr.Row(visible=False) as audio_row:
        heard = [StillAudio(label="original audio"), StillAudio(label="reconstructed audio (Griffin-Lim)")]
    modality.change(lambda m: (gr.update(visible=m != "points"), gr.update(visible=m == "points"),
                               gr.update(visible=m == "audio")), modality, [image_row, plot_row, audio_row],
                    api_name=False)
    sweep_plot = gr.Plot(label="sweep")
    inputs = [modality, ratio, kind, seed, index, mask_seed, upload]
    go.click(lambda *a: run_reconstruction(state, *a), inputs, images + plots + heard + [report],
             api_name="reconstruct")
    sweep.click(lambda m, r, k, s, i, ms, u: run_sweep(state, m, k, s, i, ms, u), inputs, sweep_plot,
                api_name="reconstruct_sweep")
