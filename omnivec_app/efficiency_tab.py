"""Efficiency tab: DropToken (VATT) cost and accuracy at any drop rate, and the 0-75% curve."""
from __future__ import annotations

from functools import partial

import gradio as gr

from omnivec_core.analysis.efficiency import DEFAULT_RATES, droptoken_curve, droptoken_point
from omnivec_core.modalities import AUDIO, VIDEO

from .downloads import figure_downloads, table_downloads
from .state import AppState

COLUMNS = ("video_gflops", "video_latency_ms", "video->audio R@1", "video motion probe")


def _row(rate_label: str, point: dict) -> str:
    return f"| {rate_label} | " + " | ".join(f"{point[c]:.3f}" for c in COLUMNS) + " |"


def droptoken(state: AppState, video_rate: float, audio_rate: float, with_curve: bool, events: int,
              progress=gr.Progress()):
    model = state.require_model()
    rates = {VIDEO: float(video_rate), AUDIO: float(audio_rate)}
    if not all(0.0 <= r <= 0.9 for r in rates.values()):
        raise gr.Error("drop rates must be between 0 and 0.9")
    events = int(events)
    if not 32 <= events <= 1000:
        raise gr.Error("events must be between 32 and 1000")
    progress(0.1, desc="measuring at the chosen rates")
    point = droptoken_point(model, rates, events)
    header = ("| drop rate (video, audio) | video GFLOPs/clip | latency ms/clip | video→audio R@1 | "
              "motion probe acc |\n|---|---|---|---|---|")
    rows = [_row(f"{rates[VIDEO]:.2f}, {rates[AUDIO]:.2f}", point)]
    figure = None
    if with_curve:
        curve = droptoken_curve(model, DEFAULT_RATES, events,
                                lambda done, rate: progress(0.3 + 0.7 * done, desc=f"curve: drop rate {rate:.0%}"))
        rows += [_row(f"{p['rate']:.2f}, {p['rate']:.2f} (curve)", p) for p in curve]
        figure = curve_figure(curve)
    note = (f"Measured on {events} held-out events on {state.device}. Latency is one clip, warm. "
            "FLOPs count the stem, projection and transformer (torch.utils.flop_counter).")
    return header + "\n" + "\n".join(rows) + "\n\n" + note, figure


def curve_figure(curve: list[dict]):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rates = [f"{p['rate']:.0%}" for p in curve]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    for key, name in (("video->audio R@1", "video→audio R@1"), ("video motion probe", "motion probe accuracy")):
        figure.add_trace(go.Scatter(x=rates, y=[p[key] for p in curve], name=name, mode="lines+markers"))
    figure.add_trace(go.Bar(x=rates, y=[p["video_gflops"] for p in curve], name="GFLOPs per clip", opacity=0.3),
                     secondary_y=True)
    figure.update_layout(title="DropToken: cost and accuracy", height=360, xaxis_title="tokens dropped",
                         margin=dict(l=40, r=40, t=40, b=40))
    figure.update_yaxes(title_text="accuracy", range=[0, 1], secondary_y=False)
    figure.update_yaxes(title_text="GFLOPs", secondary_y=True)
    return figure


def build(state: AppState) -> None:
    gr.Markdown("DropToken removes a random share of a modality's tokens before the transformer (VATT). "
                "Attention is quadratic, so dropping half the tokens saves more than half the work: "
                "how much accuracy does that cost?")
    with gr.Row():
        overall = gr.Slider(0.0, 0.9, value=0.5, step=0.05, label="overall drop rate (sets both)")
        video_rate = gr.Slider(0.0, 0.9, value=0.5, step=0.05, label="video drop rate")
        audio_rate = gr.Slider(0.0, 0.9, value=0.5, step=0.05, label="audio drop rate")
        events = gr.Slider(32, 1000, value=256, step=32, label="held-out events")
        with_curve = gr.Checkbox(value=True, label="also the 0/25/50/75% curve")
    overall.change(lambda r: (r, r), overall, [video_rate, audio_rate], api_name=False)
    go = gr.Button("Measure", variant="primary")
    table = gr.Markdown()
    table_downloads(table, name="droptoken")
    figure = gr.Plot(label="curve")
    figure_downloads(figure, name="droptoken curve")
    go.click(partial(droptoken, state), [video_rate, audio_rate, with_curve, events], [table, figure],
             api_name="droptoken")
