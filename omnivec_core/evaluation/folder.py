"""Evaluation on a folder of the user's media, on the split the dataset holds out:

- probe: a linear probe of the class from each modality's frozen vectors (fitted on the train split);
- zero_shot: each test item's class as the nearest class prompt ("a <class>") in text, no probe;
- retrieval: instance R@1/5/10 and median rank between every two modalities the test items share
  (a clip's frames finding its own sound among all test sounds);
- caption_precision: for a signal query, its nearest caption among the test items' captions names
  the same attributes (OmniShapes' caption parser: colour, shape, motion, ...) as its own caption.
"""
from __future__ import annotations

import itertools

import numpy as np
import torch

from ..analysis.embeddings import embed_modality
from ..analysis.folder_gallery import gallery_inputs
from ..data.folders import FolderDataset, FolderItem
from ..data.omnishapes import parse_caption
from ..modalities import CAPTIONS, REGISTRY
from ..model import OmniVec
from .probes import linear_probe
from .retrieval import recall_at


@torch.no_grad()
def split_embeddings(model: OmniVec, items: list[FolderItem]) -> dict[str, tuple[list[int], dict]]:
    """modality -> (item indices, space -> (rows, d)) for one split."""
    device = next(model.parameters()).device
    out = {}
    for m, (chosen, values) in gallery_inputs(model, items).items():
        out[m] = (chosen, embed_modality(model, m, values.to(device) if torch.is_tensor(values) else values, 64))
    return out


def class_prompts(classes: list[str]) -> list[str]:
    return [f"a {name.replace('_', ' ').replace('-', ' ')}" for name in classes]


def probe_scores(dataset: FolderDataset, train: dict, test: dict, train_items, test_items) -> dict[str, float]:
    index = {name: i for i, name in enumerate(dataset.classes)}
    out = {}
    for m in (m for m in test if m in train and m != CAPTIONS):
        (fit_rows, fit), (score_rows, score) = train[m], test[m]
        fit_y = np.array([index[train_items[i].label] for i in fit_rows])
        if len(set(fit_y)) < 2:
            continue
        score_y = np.array([index[test_items[i].label] for i in score_rows])
        out[m] = linear_probe(fit["vector"].numpy(), fit_y, score["vector"].numpy(), score_y)
    return out


def meeting_text(model: OmniVec, test: dict):
    """(modality, item rows, its embedding in the space it shares with text) for every signal modality."""
    for m, (rows, embedded) in test.items():
        if m == CAPTIONS:
            continue
        try:
            space = model.embedding.pair_space(m, CAPTIONS)
        except ValueError:  # no space shared with text
            continue
        yield m, rows, embedded[space], space


def zero_shot_scores(model: OmniVec, dataset: FolderDataset, test: dict, items) -> dict[str, float]:
    prompts = embed_modality(model, CAPTIONS, class_prompts(dataset.classes))
    index = {name: i for i, name in enumerate(dataset.classes)}
    out = {}
    for m, rows, embedded, space in meeting_text(model, test):
        guess = (embedded @ prompts[space].t()).argmax(1)
        truth = torch.tensor([index[items[i].label] for i in rows])
        out[m] = float((guess == truth).float().mean())
    return out


def retrieval_scores(model: OmniVec, test: dict) -> dict[str, dict[str, float]]:
    out = {}
    for a, b in itertools.permutations(test, 2):
        try:
            space = model.embedding.pair_space(a, b)
        except ValueError:
            continue
        rows_a, rows_b = test[a][0], test[b][0]
        common = sorted(set(rows_a) & set(rows_b))
        if len(common) < 2:
            continue
        pick_a = [rows_a.index(i) for i in common]
        pick_b = [rows_b.index(i) for i in common]
        similarity = test[a][1][space][pick_a] @ test[b][1][space][pick_b].t()
        out[f"{a}->{b}"] = recall_at(similarity)
    return out


def caption_precision(model: OmniVec, test: dict, items) -> dict[str, float]:
    """Share of queries whose nearest test caption names what their own caption names (where it names it)."""
    if CAPTIONS not in test:
        return {}
    caption_rows, captions = test[CAPTIONS]
    named = [parse_caption(items[i].captions[0]) for i in caption_rows]
    out = {}
    for m, rows, embedded, space in meeting_text(model, test):
        observed = set(REGISTRY[m].observes)
        top = (embedded @ captions[space].t()).argmax(1).tolist()
        hits = []
        for i, j in zip(rows, top):
            own = {k: v for k, v in parse_caption(items[i].captions[0]).items() if k in observed} if items[i].captions \
                else {}
            if own:
                hits.append(all(named[j].get(k) == v for k, v in own.items()))
        if hits:
            out[m] = sum(hits) / len(hits)
    return out


def evaluate_folder(model: OmniVec, dataset: FolderDataset) -> dict:
    train_items, test_items = dataset.split("train"), dataset.split("test")
    if not test_items:
        raise ValueError(f"{dataset.root} holds out no test items to evaluate on")
    model.eval()
    train, test = split_embeddings(model, train_items), split_embeddings(model, test_items)
    report = {"folder": str(dataset.root), "layout": dataset.layout, "classes": list(dataset.classes),
              "train_items": len(train_items), "test_items": len(test_items),
              "retrieval": retrieval_scores(model, test), "caption_precision": caption_precision(model, test, test_items)}
    if dataset.classes:
        report["probe"] = probe_scores(dataset, train, test, train_items, test_items)
        report["zero_shot"] = zero_shot_scores(model, dataset, test, test_items)
    return report


def format_folder_report(report: dict) -> str:
    lines = [f"{report['folder']} ({report['layout']}): {report['train_items']} train / {report['test_items']} "
             f"test items, {len(report['classes'])} classes", ""]
    for key, title in (("probe", "linear probe of the class"), ("zero_shot", "zero-shot class (nearest prompt)"),
                       ("caption_precision", "nearest caption names the same attributes")):
        if report.get(key):
            lines += [f"{title}:"] + [f"  {m:8s} {v:.3f}" for m, v in report[key].items()] + [""]
    if report["retrieval"]:
        lines += ["instance retrieval among the test items:", "  pair             R@1    R@5    median rank"]
        lines += [f"  {pair:16s} {r['R@1']:.3f}  {r['R@5']:.3f}  {r['median_rank']:.0f}"
                  for pair, r in report["retrieval"].items()]
    return "\n".join(lines)
