"""The Overview's architecture diagram, drawn from a model's config (also in the report, report.py)."""
from __future__ import annotations

from omnivec_core.config import ModelConfig
from omnivec_core.modalities import REGISTRY


def architecture_figure(cfg: ModelConfig):
    """Boxes and arrows: stems per modality -> meta-conditioned projection -> shared transformer ->
    vectorizer -> embedding spaces and task heads (plus the MAE decoder)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    rows = list(cfg.modalities)

    def box(x, y, w, h, text, colour):
        figure.add_shape(type="rect", x0=x, y0=y - h / 2, x1=x + w, y1=y + h / 2, fillcolor=colour,
                         line=dict(color="#444"), layer="below")
        figure.add_annotation(x=x + w / 2, y=y, text=text, showarrow=False, font=dict(size=11))

    def arrow(x0, y0, x1, y1):
        figure.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                              showarrow=True, arrowhead=2, arrowwidth=1, text="")

    middle = (len(rows) - 1) / 2
    for i, m in enumerate(rows):
        y = len(rows) - 1 - i
        spec = REGISTRY[m]
        box(0, y, 1.6, 0.7, f"<b>{m}</b><br>{spec.tokens} tokens", "#dbeafe")
        box(2.0, y, 1.9, 0.7, spec.describe_stem(cfg), "#e0f2fe")
        arrow(1.6, y, 2.0, y)
        arrow(3.9, y, 4.4, middle)
    box(4.4, middle, 1.7, 2.2, f"meta tokens<br>(modality, T, H, W, C, L)<br>FiLM projection<br>{cfg.stem_dim} -> {cfg.width}",
        "#fef3c7")
    sharing = "one shared" if cfg.backbone == "shared" else "one per modality"
    box(6.5, middle, 1.9, 2.6, f"<b>transformer</b><br>{sharing}<br>{cfg.depth} blocks x {cfg.heads} heads<br>"
                               f"width {cfg.width}<br>DropToken / MAE masking", "#dcfce7")
    arrow(6.1, middle, 6.5, middle)
    box(8.8, middle + 1.4, 1.6, 0.8, "vectorizer", "#fae8ff")
    reconstructed = sum(REGISTRY[m].reconstruct for m in cfg.modalities)
    decoder = (f"MAE decoders x{reconstructed}<br>{cfg.decoder_depth} x {cfg.decoder_width} each"
               if cfg.separate_decoders else f"MAE decoder (shared)<br>{cfg.decoder_depth} x {cfg.decoder_width}")
    box(8.8, middle - 1.4, 1.6, 0.8, decoder, "#fee2e2")
    arrow(8.4, middle, 8.8, middle + 1.4)
    arrow(8.4, middle, 8.8, middle - 1.4)
    spaces = {"fac": f"fine ({cfg.fine_dim}) + coarse ({cfg.coarse_dim})", "shared": f"shared ({cfg.coarse_dim})",
              "disjoint": "one space per video pair"}[cfg.embed_space]
    box(10.8, middle + 2.2, 2.2, 0.8, f"embedding spaces<br>{spaces}", "#ede9fe")
    box(10.8, middle + 0.9, 2.2, 0.8, "classification<br>shape colour motion size speed", "#ede9fe")
    dense = ", ".join(m for m in cfg.modalities if REGISTRY[m].dense)
    box(10.8, middle - 1.4, 2.2, 0.8, f"segmentation<br>{dense}", "#ede9fe")
    for y in (middle + 2.2, middle + 0.9):
        arrow(10.4, middle + 1.4, 10.8, y)
    arrow(8.4, middle - 0.2, 10.8, middle - 1.05)  # above the decoder box, not through it
    figure.update_xaxes(visible=False, range=[-0.2, 13.2])
    figure.update_yaxes(visible=False, range=[-0.8, len(rows) - 0.2])
    figure.update_layout(height=420, margin=dict(l=5, r=5, t=5, b=5), plot_bgcolor="white")
    return figure
