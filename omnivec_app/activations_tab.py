"""Activations tab: how hard each layer works for each modality, token norms, attention maps."""
from __future__ import annotations

import gradio as gr
import numpy as np
import torch

from omnivec_core.analysis.activations import (attention_layout, layer_modality_magnitude, meta_attention,
                                              temporal_attention, token_norms)
from omnivec_core.modalities import REGISTRY

from .downloads import figure_downloads
from .state import AppState


def heat_figure(values: np.ndarray, x_labels, y_labels, title: str, x_title: str, y_title: str):
    import plotly.graph_objects as go

    figure = go.Figure(go.Heatmap(z=values, x=list(x_labels), y=list(y_labels), colorscale="Viridis"))
    figure.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=360,
                         margin=dict(l=50, r=10, t=40, b=40))
    return figure


def activations(state: AppState, modality: str, layer: int, seed: int, index: int, samples: int):
    model = state.require_model()
    if modality not in model.cfg.modalities:
        raise gr.Error(f"this model has no {modality} input")
    depth = model.cfg.depth
    layer = int(layer)
    if not 1 <= layer <= depth:
        raise gr.Error(f"layer must be between 1 and {depth}")
    samples = int(samples)
    if not 1 <= samples <= 64:
        raise gr.Error("samples must be between 1 and 64")
    batch = state.world.render(samples, seed=int(seed), start=int(index), device=state.device)
    inputs = {m: REGISTRY[m].batch_input(batch) for m in model.cfg.modalities}
    names, magnitude = layer_modality_magnitude(model, inputs)
    layers = [f"block {i + 1}" for i in range(depth)]
    overview = heat_figure(magnitude.numpy(), names, layers, "mean |activation| per layer and modality",
                           "modality", "layer")
    one = REGISTRY[modality].batch_input(batch)[:1]
    with torch.no_grad():
        recorded = model.encode(modality, one, record=True)
    norms = token_norms(recorded).numpy()
    norm_figure = heat_figure(norms, range(norms.shape[1]), layers, f"token norms, first {modality} sample",
                              "token", "layer")
    weights, grid = meta_attention(recorded, layer - 1)  # with divided attention: the spatial part
    laid = attention_layout(weights, grid, REGISTRY[modality].layout)
    attention_figure = heat_figure(laid["values"], laid["x"], laid["y"], laid["title"], laid["x_title"],
                                   laid["y_title"])
    temporal = temporal_attention(recorded, layer - 1)
    steps = [f"t{t}" for t in range(recorded.stem.grid[0])]
    temporal_figure = None if temporal is None else heat_figure(
        temporal.numpy(), steps, steps, "temporal attention (divided): from each time step to each, same position",
        "key time step", "query time step")
    return overview, norm_figure, attention_figure, temporal_figure


def build(state: AppState) -> None:
    gr.Markdown("VATT asks: does a shared backbone treat modalities alike? The left map shows the mean activation "
                "magnitude of every block for every modality; the others zoom into one sample.")
    with gr.Row():
        modality = gr.Radio(list(REGISTRY), value=next(iter(REGISTRY)), label="sample modality")
        layer = gr.Slider(1, 12, value=1, step=1, label="block for the attention map")
        seed = gr.Number(value=0, precision=0, label="seed", minimum=0)
        index = gr.Number(value=0, precision=0, label="index", minimum=0)
        samples = gr.Slider(1, 64, value=16, step=1, label="events averaged")
    go = gr.Button("Show activations", variant="primary")
    with gr.Row():
        overview, norms, attention = gr.Plot(label="layers x modalities"), gr.Plot(label="token norms"), \
            gr.Plot(label="attention")
    temporal = gr.Plot(label="temporal attention (models with divided space-time attention, inputs with a time "
                             "axis)")
    figure_downloads(overview, norms, attention, temporal, name="activations")
    go.click(lambda *a: activations(state, *a), [modality, layer, seed, index, samples],
             [overview, norms, attention, temporal], api_name="activations")
