"""Retrieval tab: query with an upload or text, get the nearest held-out events in other modalities."""
from __future__ import annotations

import functools
from functools import partial

import gradio as gr
import numpy as np
import torch

from . import media, own_inputs, predictions_view, views
from .activations_tab import heat_figure
from .components import StillAudio, StillImage
from .downloads import figure_downloads, table_downloads
from .explain_view import build_retrieval_block, gallery_input, model_query, query_inputs
from .inputs import ASSETS
from .own_inputs import own_query
from .state import FOLDER, OMNISHAPES, AppState
from omnivec_core.analysis.captioning import match_probabilities, rerank_order, rerank_scores
from omnivec_core.analysis.embeddings import embed_modality
from omnivec_core.analysis.folder_gallery import FolderGallery
from omnivec_core.analysis.gallery import Gallery
from omnivec_core.analysis.predictions import predict
from omnivec_core.data import readers
from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.evaluation.retrieval import search
from omnivec_core.modalities import AUDIO, CAPTIONS, POINTS, REGISTRY, VIDEO
from omnivec_core.modalities.audio import SAMPLE_RATE

DEFAULT_TARGETS = (VIDEO, AUDIO, CAPTIONS, POINTS)


@functools.lru_cache(maxsize=2048)
def _preview_file(world, seed: int, event: int, modality: str, folder: str) -> str:
    """A gallery item's first view as a file (a GIF for video, a WAV for sound), rendered once and then reused."""
    batch = world.render(1, seed=seed, start=event, modalities=(modality,))
    _, view = REGISTRY[modality].event_views(batch, 0)[0]
    return views.render_file(view, folder, f"{modality}-{seed}-{event}")


@functools.lru_cache(maxsize=None)
def preview_kind(modality: str) -> str:
    """The kind of view a gallery item of this modality is previewed as ("sound" goes to the players)."""
    batch = OmniShapes().render(1, seed=0, modalities=(modality,))
    return REGISTRY[modality].event_views(batch, 0)[0][1].kind


def preview(state: AppState, gallery, event: int, modality: str) -> str:
    """A gallery item's thumbnail file: an OmniShapes event rendered, or a folder item's input drawn."""
    if isinstance(gallery, FolderGallery):
        if preview_kind(modality) == "sound":  # the item's own sound track, as its file holds it
            loaded = readers.read_any(gallery.dataset.root / gallery.dataset.items[event].path)
            return media.write_wav(torch.as_tensor(loaded.waveform), SAMPLE_RATE,
                                   state.scratch / f"{modality}-{gallery.key}-{event}.wav")
        view = REGISTRY[modality].view(gallery.item_input(event, modality)[0])
        return views.render_file(view, state.scratch, f"{modality}-{gallery.key}-{event}")
    return _preview_file(state.world, gallery.seed, event, modality, str(state.scratch))


def retrieve(state: AppState, upload: str | None, text: str, targets: list[str], k: int, n_events: int,
             source: str = OMNISHAPES, folder: str = "", sketch=None, webcam: str | None = None,
             microphone: str | None = None, rerank: bool = False, progress=gr.Progress()):
    """The nearest gallery events to one query: the first of upload, sketch, webcam snapshot and microphone
    recording given (a blank sketch counts as none), else the sentence; with its out-of-world score."""
    model = state.require_model()
    targets = [t for t in (targets or []) if t in model.cfg.modalities]
    if not targets:
        raise gr.Error("choose at least one target modality this model has")
    k, n_events = int(k), int(n_events)
    if not 1 <= k <= 10 or not 50 <= n_events <= 2000:
        raise gr.Error("top-k must be 1-10 and the gallery 50-2000 events")
    inputs, notes = query_inputs(own_query(upload, sketch, webcam, microphone), text)
    progress(0.1, desc="embedding the gallery (cached after the first time)")
    gallery = state.pick_gallery(source, folder, n_events,
                                 lambda share, text: progress(0.1 + 0.5 * share, desc=text))
    inputs = {m: x.to(state.device) if torch.is_tensor(x) else x for m, x in inputs.items()}
    # every space, and the vectorizer output the out-of-world score reads
    queries = {m: embed_modality(model, m, x) for m, x in inputs.items() if m in model.cfg.modalities}
    if not queries:
        raise gr.Error(f"this model has no {' or '.join(inputs)} input; it was built for {list(model.cfg.modalities)}")
    visuals, sounds, rows, heat = [], [], [], []
    for target in targets:
        asking = next((m for m in queries if m != target), next(iter(queries)))
        try:
            events, scores = search(model, gallery, asking, queries[asking], target, k)
        except ValueError as error:  # disjoint spaces do not pair every two modalities
            notes.append(f"{target}: {error}")
            continue
        heat.append((f"{asking}→{target}", scores))
        for rank, (e, s) in enumerate(zip(events, scores)):
            rows.append(f"| {target} | {rank + 1} | {e} | {s:.3f} | {gallery.captions[e]} |")
            if preview_kind(target) == "sound":
                if len(sounds) < 3:
                    sounds.append(preview(state, gallery, e, target))
            elif not REGISTRY[target].language:
                visuals.append((preview(state, gallery, e, target), f"{target} #{rank + 1}: event {e}, score {s:.2f}"))
    table = "| target | rank | event | score | caption of the event |\n|---|---|---|---|---|\n" + "\n".join(rows)
    query_note = "Query: " + " + ".join(queries) + "\n\n" + state.out_of_world().markdown(queries) \
        + ("\n\n" + "\n".join(f"- {n}" for n in notes) if notes else "")
    width = max((len(s) for _, s in heat), default=1)
    matrix = np.array([s + [np.nan] * (width - len(s)) for _, s in heat]) if heat else np.zeros((1, 1))
    figure = heat_figure(matrix, [f"#{i + 1}" for i in range(width)], [h for h, _ in heat] or ["-"],
                         "similarity of the query to its top-k", "rank", "query → target")
    sounds += [None] * (3 - len(sounds))
    if model.language is None:
        reranked = "The loaded model has no alignment decoder (text_decoder_depth 0): nothing to re-rank with."
    elif rerank and CAPTIONS in queries:  # asked for, and of a sentence: the decoder reads every candidate
        reranked = rerank_markdown(state, inputs[CAPTIONS][0], gallery, targets, k)
    else:
        reranked = "" if rerank else "*Tick **re-rank** to re-order a sentence's hits with the alignment decoder.*"
    shown = gallery if isinstance(gallery, Gallery) else state.gallery(n_events)
    pairs = state.once(("pair matrix", shown.seed, shown.n), lambda: predictions_view.pair_matrix_figure(model, shown))
    return [query_note, visuals, *sounds, table, figure, pairs, reranked]


def query_heads(state: AppState, upload: str | None, text: str, sketch=None, webcam: str | None = None,
                microphone: str | None = None) -> list:
    """What the model says about a query (the same inputs as /retrieve): every query modality's heads and
    zero-shot labels, the probability bars and segmentation of the first one that has them, and the caption
    the generation decoder writes for each signal. Asked for apart from the search: a page computes it only
    while its accordion is open."""
    model = state.require_model()
    inputs = model_query(state, own_query(upload, sketch, webcam, microphone), text)
    predictions = [predict(model, m, x) for m, x in inputs.items()]
    dense = next((p for p in predictions if p.segmentation is not None), None)
    picture, cloud = (None, None) if dense is None else predictions_view.segmentation_views(
        dense, REGISTRY[dense.modality].view(inputs[dense.modality][0]))
    said = ""
    signals = {m: x for m, x in inputs.items() if m != CAPTIONS}
    if model.language is not None and signals:
        said = "\n\n**What the generation decoder says**\n\n" + predictions_view.captions_markdown(model, signals, "greedy")
    return [predictions_view.predictions_markdown(predictions) + said, predictions_view.probability_figure(predictions[0]),
            picture, cloud]


def heads_if_shown(state: AppState, shown: bool, *query) -> list:
    """query_heads for a page whose accordion is open; a closed one keeps what it showed (nothing computed)."""
    return heads_on_open(state, *query) if shown else [gr.skip()] * 4


def heads_on_open(state: AppState, *query) -> list:
    """query_heads as the opened accordion shows it: a query it cannot read (none typed yet) is said there."""
    try:
        return query_heads(state, *query)
    except gr.Error as error:
        return [f"*{error.message}*", None, None, None]


def rerank_markdown(state: AppState, sentence: str, gallery, targets: list[str], k: int, pool: int = 10) -> str:
    """For a sentence query: each target's contrastive top `pool` re-ordered by the alignment decoder's match
    logit plus the contrastive logit (BLIP's re-ranking); the table lists the new top-k with the rank each
    had before."""
    model = state.require_model()
    query = model.embed(model.encode(CAPTIONS, [sentence]))
    rows = []
    for target in (t for t in targets if t != CAPTIONS):
        try:
            events, scores = search(model, gallery, CAPTIONS, query, target, max(k, pool))
        except ValueError:  # no shared space with text
            continue
        candidates = torch.cat([gallery_input(state, gallery, e, target) for e in events])
        match = match_probabilities(model, target, candidates, [sentence])[:, 0]
        score = rerank_scores(match, torch.as_tensor(scores))
        order, match, score = rerank_order(score), match.tolist(), score.tolist()
        rows += [f"| {target} | {new + 1} | {old + 1} | {events[old]} | {match[old]:.2f} | {scores[old]:.3f} | "
                 f"{score[old]:.2f} | {gallery.captions[events[old]]} |" for new, old in enumerate(order[:k])]
    return ("**Re-ranked by the alignment decoder** (OmniVL's caption matching) from the contrastive top "
            f"{pool}, by its match logit plus the similarity over the contrastive temperature (as BLIP "
            "re-ranks): new rank, rank before, match probability, similarity and the score ranked by\n\n"
            "| target | rank | before | event | match | similarity | score | caption of the event |\n"
            "|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))


def index_folder(state: AppState, folder: str, progress=gr.Progress()):
    """Read and embed a folder (both cached), and say what was read and what was skipped."""
    if not folder or not folder.strip():
        raise gr.Error("type the path of a folder of your own media first")
    gallery = state.folder_gallery(folder.strip(), lambda share, text: progress(share, desc=text))
    counts = ", ".join(f"{len(rows)} {m}" for m, rows in gallery.rows.items())
    return f"**{gallery.dataset.root}**: embedded {counts}.\n\n{gallery.dataset.report()}", FOLDER


def examples() -> list[list]:
    folder = ASSETS / "examples"
    files = sorted(p for p in folder.glob("*") if p.suffix in (".mp4", ".wav", ".png", ".ply", ".csv")) if folder.is_dir() else []
    return [[str(p), ""] for p in files] + [[None, "a small red circle bouncing"], [None, "a large blue square spinning"]]


def build(state: AppState) -> None:
    gr.Markdown("Upload a clip (its frames and its sound track both query), an image, a sound, a point cloud "
                "or an IMU trace (CSV or .npy), draw a shape (pick the brush; it offers the world's 8 colours first), "
                "take a webcam snapshot, record a sound, "
                "or type a sentence. The model embeds it and finds the nearest held-out events in each target "
                "modality; it has never seen them. One input at a time: the first of file, drawing, snapshot and "
                "recording, else the sentence. Beside the results: how unlike the training world the input is.")
    with gr.Row():
        upload = gr.File(label="query file", type="filepath")
        text = gr.Textbox(label="or a sentence", placeholder="a large green triangle moving left")
    own = own_inputs.build("retrieval")
    with gr.Row():
        targets = gr.CheckboxGroup(list(REGISTRY), value=list(DEFAULT_TARGETS), label="search in")
        rerank = gr.Checkbox(value=False, label="re-rank a sentence's hits with the alignment decoder (OmniVL; "
                             "reads the top 10 of each target, about 0.3 s more)")
        k = gr.Slider(1, 10, value=5, step=1, label="top-k")
        n_events = gr.Slider(50, 2000, value=500, step=50, label="gallery events (OmniShapes)")
    with gr.Row():
        source = gr.Radio([OMNISHAPES, FOLDER], value=FOLDER if state.folder else OMNISHAPES, label="gallery")
        folder = gr.Textbox(value=str(state.folder or ""), label="your folder (class folders of clips, sounds "
                            "with a CSV, meshes, images, a captions.csv)", placeholder="/home/me/clips")
        index = gr.Button("Index folder")
    folder_report = gr.Markdown()
    go = gr.Button("Retrieve", variant="primary")
    note = gr.Markdown()
    found = gr.Gallery(label="nearest events", columns=5, height=320)
    with gr.Row():
        sounds = [StillAudio(label=f"audio #{i + 1}") for i in range(3)]
    table = gr.Markdown()
    heat = gr.Plot(label="similarities")
    pairs = gr.Plot(label="pair matrix: every modality finding every other on the gallery")
    figure_downloads(heat, pairs, name="retrieval")
    reranked = gr.Markdown()
    table_downloads(table, reranked, name="retrieval")
    # computed only while open (a class's pages mostly search): the heads, zero-shot labels and captions
    with gr.Accordion("What the model says about the query: its task heads, zero-shot labels and captions",
                      open=False) as says:
        heads = gr.Markdown()
        with gr.Row():
            probabilities = gr.Plot(label="class probabilities")
            segmentation = StillImage(label="predicted segmentation (coloured by shape class)", type="pil")
            segmented_points = gr.Plot(label="predicted class per point")
        table_downloads(heads, name="query heads")
        figure_downloads(probabilities, segmented_points, name="query heads")
    shown = gr.State(False)  # this page's accordion is open
    says.expand(lambda: True, None, shown, api_name=False)
    says.collapse(lambda: False, None, shown, api_name=False)
    outputs = [note, found, *sounds, table, heat, pairs, reranked]
    query = [upload, text, *own.list()]
    heads_outputs = [heads, probabilities, segmentation, segmented_points]
    go.click(partial(retrieve, state), [upload, text, targets, k, n_events, source, folder, *own.list(), rerank], outputs,
             api_name="retrieve").then(partial(heads_if_shown, state), [shown, *query], heads_outputs, api_name=False)
    says.expand(partial(heads_on_open, state), query, heads_outputs, api_name=False)
    # the scripting API's /query_heads raises on a query it cannot read; the accordion says it inside instead
    gr.Button(visible=False).click(partial(query_heads, state), query, heads_outputs, api_name="query_heads")
    index.click(partial(index_folder, state), [folder], [folder_report, source], api_name="index_folder")
    build_retrieval_block(state, [upload, text, *own.list()], [source, folder, n_events], table)
    gr.Examples(examples(), [upload, text], outputs, label="examples: click one to query it", run_on_click=True,
                fn=lambda path, sentence: retrieve(state, path, sentence, DEFAULT_TARGETS, 5, 500,
                                                   progress=lambda *a, **k: None),
                cache_examples=False)
