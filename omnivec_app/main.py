"""Assembles the explorer's tabs into one Gradio app; each tab lives in its own module."""
from __future__ import annotations

import gradio as gr

from . import (activations_tab, caption_tab, compare_tab, data_tab, efficiency_tab, map_tab, overview_tab, papers_tab, reconstruct_tab,
               retrieval_tab, train_tab)
from .state import AppState
from .training import TrainingManager

TITLE = "OmniVec Explorer"


def build_app(state: AppState, manager: TrainingManager | None = None) -> gr.Blocks:
    manager = manager or TrainingManager()
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\nLook inside a unified multimodal transformer: one model for images, video, "
                    "sound, text, depth, 3D points and motion sensors.")
        with gr.Tab("Overview"):
            refresh, refresh_outputs = overview_tab.build(state)
        with gr.Tab("Data"):
            data_tab.build(demo, state)
        with gr.Tab("Reconstruct"):
            reconstruct_tab.build(state)
        with gr.Tab("Embedding map"):
            map_tab.build(state, manager)
        with gr.Tab("Activations"):
            activations_tab.build(state)
        with gr.Tab("Retrieval"):
            retrieval_tab.build(state)
        with gr.Tab("Caption"):
            caption_tab.build(state)
        with gr.Tab("Efficiency"):
            efficiency_tab.build(state)
        with gr.Tab("Train"):
            train_tab.build(state, manager, (refresh, None, refresh_outputs))
        with gr.Tab("Papers"):
            papers_tab.build()
        with gr.Tab("Compare"):
            compare_tab.build(state)
        demo.load(refresh, None, refresh_outputs, api_name=False)
    return demo
