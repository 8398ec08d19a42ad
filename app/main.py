"""Assembles the explorer's tabs into one Gradio app."""
from __future__ import annotations

import gradio as gr

from omnivec_core.data.omnishapes import OmniShapes

from . import data_tab

TITLE = "OmniVec Explorer"


def build_app(model_info: str) -> gr.Blocks:
    world = OmniShapes()
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\nSee how a unified multimodal transformer learns. {model_info}")
        with gr.Tab("Data"):
            data_tab.build(demo, world)
    return demo
