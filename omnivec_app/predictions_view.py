"""What the Retrieval tab shows beside the hits: the task heads' predictions and zero-shot labels for
the query, its segmentation, how well every modality finds every other on the gallery, and what the
model says of an input in words (its generation decoder)."""
from __future__ import annotations

import numpy as np

from . import media
from omnivec_core.analysis.captioning import caption
from omnivec_core.analysis.predictions import SEGMENT_CLASSES, Predictions
from omnivec_core.data.omnishapes import parse_caption
from omnivec_core.evaluation.pairs import pair_matrix, pair_scores
from omnivec_core.modalities import REGISTRY, View

ATTRIBUTE_COLOURS = {"shape": "#4363d8", "colour": "#e6194b", "motion": "#3cb44b", "size": "#f58231",
                     "speed": "#911eb4"}


def predictions_markdown(predictions: list[Predictions]) -> str:
    """A table per query modality: each observed attribute's most probable class by the heads, and the
    nearest class prompt in text (zero-shot)."""
    parts = []
    for p in predictions:
        rows = [f"| {a} | {c} ({prob:.0%}) | " + (f"{p.zero_shot[a][0]} ({p.zero_shot[a][1]:.2f})"
                                                   if a in p.zero_shot else "-") + " |"
                for a, (c, prob) in p.top().items()]
        parts.append(f"**{p.modality}**: what the heads predict, and the zero-shot label (nearest class prompt, "
                     f"cosine)\n\n| attribute | heads | zero-shot |\n|---|---|---|\n" + "\n".join(rows))
    return "\n\n".join(parts)


def probability_figure(p: Predictions):
    """Bars: the probability the heads give every class of every observed attribute of one sample."""
    import plotly.graph_objects as go

    figure = go.Figure([go.Bar(x=list(probs), y=list(probs.values()), name=a, marker_color=ATTRIBUTE_COLOURS.get(a))
                        for a, probs in p.attributes.items()])
    figure.update_layout(title=f"{p.modality}: class probabilities of the task heads", yaxis_title="probability",
                         yaxis_range=[0, 1], height=320, margin=dict(l=40, r=10, t=40, b=80), barmode="group")
    return figure


def segmentation_views(p: Predictions, view: View) -> tuple:
    """(picture, figure): the predicted classes over a picture or a depth map, or colouring a point cloud."""
    if p.segmentation is None:
        return None, None
    if view.kind == "cloud":
        return None, media.point_figure(view.data, p.segmentation, f"{p.modality}: predicted class per point "
                                        f"(0 ground, 1+ shape)")
    base = media.to_pil(view.data) if view.kind == "picture" else media.heat_map(view.data)
    return media.class_overlay(base, p.segmentation, len(SEGMENT_CLASSES)), None


def pair_matrix_figure(model, gallery):
    """Two heat maps over the gallery, modality x modality: instance R@1 and attribute precision@1."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    modalities = list(model.cfg.modalities)
    instance, attributes = pair_scores(model, gallery.labels, gallery.captions, gallery.embeddings)
    figure = make_subplots(rows=1, cols=2, subplot_titles=("instance R@1", "attribute precision@1"),
                           horizontal_spacing=0.12)
    for col, matrix in enumerate((pair_matrix(instance, modalities, "R@1"), pair_matrix(attributes, modalities)), 1):
        values = matrix.numpy()
        text = np.where(np.isnan(values), "", np.vectorize(lambda v: f"{v:.2f}")(np.nan_to_num(values)))
        figure.add_trace(go.Heatmap(z=values, x=modalities, y=modalities, zmin=0, zmax=1, colorscale="Viridis",
                                    text=text, texttemplate="%{text}", showscale=col == 2), row=1, col=col)
    figure.update_yaxes(autorange="reversed", title_text="query")
    figure.update_xaxes(title_text="target")
    figure.update_layout(title=f"every modality finding every other, among {gallery.n} held-out events",
                         height=420, margin=dict(l=60, r=10, t=60, b=40))
    return figure


def captions_markdown(model, inputs: dict, decoding: str) -> str:
    """'The model says' for each input modality (a batch of one each), with what the caption parser reads
    in it restricted to what that modality can observe."""
    lines = []
    for m, x in inputs.items():
        said = caption(model, m, x, decoding)[0]
        heard = {a: c for a, c in parse_caption(said).items() if a in REGISTRY[m].observes}
        read = ", ".join(f"{a} {c}" for a, c in heard.items()) or "none named"
        lines.append(f"- **{m}**: the model says *“{said}”* (what {m} can observe, as parsed: {read})")
    return "\n".join(lines)
