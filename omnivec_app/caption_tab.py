"""Caption tab: OmniVL's generation decoder writes what the model sees or hears in an upload or in an
OmniShapes event, for every modality it reads, and the alignment decoder says how well the event's own
captions match."""
from __future__ import annotations

from functools import partial

import gradio as gr

from omnivec_core.analysis.captioning import DECODINGS, match_probabilities
from omnivec_core.analysis.embeddings import embed_modality
from omnivec_core.modalities import CAPTIONS, REGISTRY, anchor_of

from .data_tab import MAX_INDEX
from .downloads import table_downloads
from . import own_inputs
from .inputs import query_inputs
from .own_inputs import OwnQuery, own_query
from .predictions_view import captions_markdown
from .state import AppState


def run_caption(state: AppState, upload: str | None, seed: int, index: int, decoding: str, sketch=None,
                webcam: str | None = None, microphone: str | None = None) -> str:
    """Caption an upload, drawing, webcam snapshot or recording (the first given; every modality it queries
    as), with its out-of-world score, or, without one, event `index` of `seed` in every modality the model
    has; for an event also the alignment decoder's match of its own captions."""
    model = state.require_model()
    if model.language is None:
        raise gr.Error("the loaded model has no text decoders (text_decoder_depth 0): it cannot caption. Load a "
                       "model trained with the captioning objective, such as the bundled one")
    if decoding not in DECODINGS:
        raise gr.Error(f"decoding must be one of {', '.join(DECODINGS)}, got {decoding!r}")
    signals = [m for m in model.cfg.modalities if m != CAPTIONS]
    given = own_query(upload, sketch, webcam, microphone)
    if given.loaded is not None:
        return caption_own(state, given, decoding, signals)
    if given.empty_sketch:  # an empty canvas asked for nothing: say so instead of captioning an event unasked
        given.require()
    seed, index = int(seed), int(index)
    if not (0 <= seed <= MAX_INDEX and 0 <= index <= MAX_INDEX):
        raise gr.Error(f"seed and index must be between 0 and {MAX_INDEX}")
    batch = state.world.render(1, seed=seed, start=index, device=state.device)
    inputs = {m: REGISTRY[m].batch_input(batch) for m in signals}
    own = batch[CAPTIONS][0]
    anchor = anchor_of(inputs)  # the clip the captions describe
    match = match_probabilities(model, anchor, inputs[anchor], own)[0] if anchor else None
    table = "" if match is None else f"\n\n| the event's own caption | match ({anchor}) |\n|---|---|\n" + "\n".join(
        f"| {c} | {p:.2f} |" for c, p in zip(own, match.tolist()))
    return (f"**The event:** {state.world.describe(batch.labels_row(0))}\n\n"
            + captions_markdown(model, inputs, decoding) + table)


def caption_own(state: AppState, own: OwnQuery, decoding: str, signals: list[str]) -> str:
    """The captions of the student's input in every modality it gives, and how unlike the world it is."""
    model = state.require_model()
    inputs, notes = query_inputs(own.loaded)
    inputs = {m: x[None].to(state.device) for m, x in inputs.items() if m in signals}
    if not inputs:
        raise gr.Error(f"this model reads none of the modalities {own.source} gives; it has {signals}")
    familiar = state.out_of_world().markdown({m: embed_modality(model, m, x) for m, x in inputs.items()})
    return "\n".join([captions_markdown(model, inputs, decoding), "", familiar, ""]
                     + [f"- note: {n}" for n in own.notes + notes])


def build(state: AppState) -> None:
    gr.Markdown("OmniVL's generation decoder reads the transformer's tokens of one input and writes a caption, "
                "for any modality the model encodes: a clip, an image, a sound, a depth map, a point cloud, an "
                "IMU trace. Upload a file, draw a shape (pick the brush; it offers the world's 8 colours first), "
                "take a webcam snapshot or record a sound (the first "
                "given is captioned, with how unlike the training world it is), or leave them all empty to caption "
                "an OmniShapes event.")
    with gr.Row():
        upload = gr.File(label="file to caption (optional)", type="filepath")
        with gr.Column():
            seed = gr.Number(value=0, precision=0, label="event seed")
            index = gr.Number(value=0, precision=0, label="event index")
            decoding = gr.Radio(list(DECODINGS), value="greedy", label="decoding",
                                info="greedy: the likeliest word each time; beam: the likeliest caption of 4 "
                                     "kept; nucleus: sampled from the top 90% of probability")
    own = own_inputs.build("caption")
    go = gr.Button("Caption", variant="primary")
    said = gr.Markdown()
    table_downloads(said, name="caption")
    go.click(partial(run_caption, state), [upload, seed, index, decoding, *own.list()], said, api_name="caption")

