"""A one-page HTML report of the loaded model for a class handout (`/export_report`): its model card, the
architecture, the pair matrix, reconstructions of a few held-out events at one mask ratio and a map of the
shared space. One self-contained file: every picture inlined as base64 (figures drawn to PNG by
static_figure.py), no script, so it opens offline and prints as it shows."""
from __future__ import annotations

import base64
import dataclasses
import html
import io
import json
import time
from pathlib import Path

import gradio as gr
from markdown_it import MarkdownIt

from omnivec_core.analysis.maps import compute_map
from omnivec_core.analysis.reconstruction import RECONSTRUCTED, reconstruct
from omnivec_core.modalities import REGISTRY

from . import views
from .downloads import download_folder, slug
from .map_tab import map_figure
from .architecture import architecture_figure
from .predictions_view import pair_matrix_figure
from .state import DEFAULT_GALLERY, AppState
from .static_figure import png_bytes

CARD = "MODEL_CARD.md"
REPORT_EVENT_SEED = 0  # the OmniShapes split the reconstructions come from (the Reconstruct tab's default)
PANELS = ("original", "masked input", "reconstruction + visible")
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } .meta { color: #666; } img { max-width: 100%; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ccc; padding: 4px 8px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0 1em; max-height: none; }
.panels td { text-align: center; vertical-align: top; border: none; } .panels img { width: 192px; }
section { page-break-inside: avoid; }
"""


def image_uri(value) -> str:
    """What views.render gives (a PIL picture, a GIF's path, a Plotly figure) as an inline data URI."""
    if isinstance(value, (str, Path)):
        return "data:image/gif;base64," + base64.b64encode(Path(value).read_bytes()).decode()
    if hasattr(value, "to_json"):
        return png_uri(png_bytes(value))
    buffer = io.BytesIO()
    value.save(buffer, format="PNG")
    return png_uri(buffer.getvalue())


def panel(view, folder: Path):
    """A reconstruction panel: pictures and clips as the Reconstruct tab shows them, clouds and traces drawn
    small (a 3-D figure per panel would take most of the report's time)."""
    return views.still(view, 192) if view.kind in views.FIGURES else views.render(view, folder)


def png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def figure_section(anchor: str, title: str, figure, text: str = "") -> str:
    return (f'<section id="{anchor}"><h2>{html.escape(title)}</h2>' + (f"<p>{text}</p>" if text else "") +
            f'<img alt="{html.escape(title)}" src="{png_uri(png_bytes(figure))}"></section>')


def card_section(state: AppState) -> str:
    """The model card beside the checkpoint, else what the Overview shows and the model's config."""
    path = Path(state.checkpoint) / CARD
    renderer = MarkdownIt("commonmark", {"html": False}).enable("table")  # the card's HTML is escaped, not run
    if path.is_file():
        body = renderer.render(path.read_text(encoding="utf-8"))
    else:
        model = json.dumps(dataclasses.asdict(state.config.model), indent=1)
        body = renderer.render(f"{state.describe()}\n\nThis model has no {CARD}; its configuration:\n\n"
                               f"```json\n{model}\n```\n")
    return f'<section id="card"><h2>Model card</h2><div class="card">{body}</div></section>'


def reconstruction_section(state: AppState, ratio: float, events: int) -> str:
    """Original, masked input and reconstruction of `events` held-out events in every reconstructed modality."""
    model, folder, rows = state.require_model(), download_folder(), []
    for m in (m for m in RECONSTRUCTED if m in model.cfg.modalities):
        spec = REGISTRY[m]
        for e in range(events):
            batch = state.world.render(1, seed=REPORT_EVENT_SEED, start=e, modalities=(m,), device=state.device)
            result = reconstruct(model, m, spec.batch_input(batch), ratio, "random", 0)
            cells = "".join(f'<td><img alt="{m} {label}" src="{image_uri(panel(spec.view(spec.show_range(t)), folder))}">'
                            f"<br>{label}</td>" for t, label in zip((result.original, result.masked, result.pasted), PANELS))
            rows.append(f"<tr><th>{m}<br>event {e}<br>{result.score_name} {result.score:.3f}</th>{cells}</tr>")
    return (f'<section id="reconstructions"><h2>Reconstructions at {ratio:.0%} masking</h2>'
            f"<p>Held-out events (OmniShapes seed {REPORT_EVENT_SEED}), a random {ratio:.0%} of each input's tokens "
            "hidden; the model never sees them and fills them in from the rest (masked autoencoding).</p>"
            f'<table class="panels">{"".join(rows)}</table></section>')


def build_report(state: AppState, mask_ratio: float = 0.75, n_events: int = DEFAULT_GALLERY, events: int = 1) -> str:
    """The report's HTML, from the gallery of `n_events` held-out events (cached beside the checkpoint)."""
    model = state.require_model()
    gallery = state.gallery(n_events)
    space = model.embedding.joint_space or "vector"
    data = compute_map(gallery, space, model.cfg.modalities, "pca", 2, 0, state.checkpoint)
    chart = map_figure(data, gallery, "shape", f"shared space ({space}), PCA, coloured by shape", 0)
    name = Path(state.checkpoint).name
    parts = [
        f"<h1>OmniVec model report: {html.escape(name)}</h1>",
        f'<p class="meta">{html.escape(state.describe().replace("*", "").replace("`", ""))} '
        f"Written by OmniVec Explorer on {time.strftime('%Y-%m-%d %H:%M')}.</p>",
        figure_section("architecture", "Architecture", architecture_figure(model.cfg)),
        figure_section("pairs", "Every modality finding every other", pair_matrix_figure(model, gallery),
                       f"Among {gallery.n} held-out events: how often a query in one modality (row) finds the same "
                       "event (instance R@1) or an event with the same attributes (precision@1) in another (column)."),
        reconstruction_section(state, mask_ratio, events),
        figure_section("map", "The shared space", chart,
                       f"Every point is one held-out event in one modality; {data.mixing:.0%} of each point's 10 "
                       "nearest neighbours come from another modality (high: the space mixes modalities by meaning)."),
        card_section(state),  # last: a card runs to pages, the figures fit the first
    ]
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>OmniVec report: {html.escape(name)}'
            f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")


def export_report(state: AppState, mask_ratio=0.75, n_events=DEFAULT_GALLERY, progress=gr.Progress()) -> str:
    """The handler: checks the inputs, writes the report and returns its path."""
    state.require_model()
    try:
        ratio, n = float(mask_ratio), int(n_events)
    except (TypeError, ValueError):
        raise gr.Error(f"the mask ratio must be a number and the gallery size a whole number, got {mask_ratio!r} "
                       f"and {n_events!r}") from None
    if not 0.0 <= ratio <= 0.95:
        raise gr.Error(f"the mask ratio must be between 0 and 0.95, got {ratio}")
    if not 20 <= n <= 2000:
        raise gr.Error(f"the gallery size must be between 20 and 2000 events, got {n}")
    progress(0.1, desc="pair matrix, reconstructions and map (the gallery is cached after the first time)")
    page = build_report(state, ratio, n)
    path = download_folder() / f"omnivec-report-{slug(Path(state.checkpoint).name, 'model')}.html"
    path.write_text(page, encoding="utf-8")
    return str(path)
