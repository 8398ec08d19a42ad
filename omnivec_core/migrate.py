"""Upgrading config.json written by earlier code: the one place that knows old formats and old defaults.

A config carries `format_version` (`config.FORMAT_VERSION`); one written before the key existed is
version 1. `migrate` turns any known version into the current one, so `ExperimentConfig.from_dict`
only ever reads today's fields with today's defaults. Where a step changes what a model's weights
look like, `migrate_weights` changes a checkpoint's tensors on the same step, so an old
model.safetensors loads into today's modules and computes what it did.

Version 1 -> 2:
- keys a version-1 config omits mean the defaults of the code that wrote it, where those differ from
  today's (linear stem, mean pooling, masking after the stem, the six modalities of its day, ...): they
  are written in;
- `fine_time_profile` + `time_profile_in_coarse` become one `time_profile`;
- `vector_pool: "mean_max_time"` and its `time_slots` are gone (refused: no current model has its weights);
- `mask_before_stem` is gone (always on);
- `stage_schedules`, `frozen`, `mae_weights`, `mae_relative`, `modality_mixing` and `sibling_events` of
  `train` move into every stage;
- settings that became constants (`config.MLP_RATIO` ...) must name the constant's value, `compile` is a
  command-line flag now.

Version 2 -> 3:
- `model.text_decoder_reads` is gone: the text decoders read the backbone's tokens alone ("tokens");
  a model whose decoders also read its embeddings ("tokens_and_embeddings") is refused (its decoders
  have weights this code does not build).

Version 3 -> 4: `model.patch`, `model.tubelet` and `train.min_lr` became constants.

Version 4 -> 5:
- `model.vector_pool` is gone (the vectorizer always pools mean and max): a "mean" model's vectorizer
  projection gets zero columns for the max, so it computes what it did;
- `model.stem_context` + `model.spectrogram_context` become one `stem_context`: stem -> context convs
  (the audio stem's was `spectrogram_context`, the others' `stem_context`).
"""
from __future__ import annotations

import copy
import warnings
from typing import Any

import torch

from .constants import (EVAL_SEED, FORMAT_VERSION, GRAD_CLIP, MIN_LR, MLP_RATIO, PATCH, TEMPERATURE, TEXT_MAX_TOKENS,
                        TEXT_VOCAB, TUBELET, WEIGHT_DECAY)

# Model settings that became constants: they shape the weights, so a model built with another value
# cannot be loaded by this code.
MODEL_CONSTANTS = {"mlp_ratio": MLP_RATIO, "text_vocab": TEXT_VOCAB, "text_max_tokens": TEXT_MAX_TOKENS}
# Training settings that became constants: they change only how a run continues, so a config with
# another value still loads, with a warning that further training uses the constant.
TRAIN_CONSTANTS = {"temperature": TEMPERATURE, "amp": True, "weight_decay": WEIGHT_DECAY, "grad_clip": GRAD_CLIP,
                   "eval_seed": EVAL_SEED}
VERSION_1_MODALITIES = ("image", "video", "audio", "text", "depth", "points")  # all the code of version 1 knew
# Settings of `train` that every stage now carries on its own.
STAGE_SETTINGS = ("frozen", "mae_weights", "mae_relative", "modality_mixing", "sibling_events")
# Version 4's two context settings, their defaults, and the stems each gave context convs to.
VERSION_4_CONTEXT = {"stem_context": 1, "spectrogram_context": 0}
VERSION_4_CONTEXT_STEMS = {"visual": "stem_context", "audio": "spectrogram_context", "depth": "stem_context"}
VECTORIZER_WEIGHT = "vectorizer.proj.weight"  # (D, 3D) over meta, mean and max; (D, 2D) in a "mean" model


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a config.json object) upgraded to the current format; the argument is left unchanged, and
    a config already current comes back equal (migrate is idempotent)."""
    return _upgrade(data, {})[0]


def migrate_weights(data: dict[str, Any], weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors of a model.safetensors saved beside the config.json object `data`, as today's code builds
    that model; neither argument is changed, and tensors no step changes are passed on as they are."""
    return _upgrade(data, weights)[1]


def _upgrade(data: dict[str, Any], weights: dict[str, torch.Tensor]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """A config and its weights taken to the current format one version at a time (a weight step reads the
    config of the version it upgrades from)."""
    if not isinstance(data, dict):
        raise ValueError(f"a config must be a JSON object, got {type(data).__name__}")
    version = data.get("format_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"format_version must be a whole number >= 1, got {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"this config has format_version {version}, newer than this code reads (up to "
                         f"{FORMAT_VERSION}): it was written by a later omnivec_core; update the code to load it")
    data, weights = copy.deepcopy(data), dict(weights)
    while version < FORMAT_VERSION:
        if version in WEIGHT_UPGRADES:
            weights = WEIGHT_UPGRADES[version](data["model"], weights)
        data = UPGRADES[version](data)
        version = data["format_version"]
    return data, weights


def _version_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    rest = {k: v for k, v in data.items() if k not in ("model", "train")}
    return {**rest, "format_version": 2, "model": _model_1_to_2(data.get("model", {})),
            "train": _train_1_to_2(data.get("train", {}))}


def _model_1_to_2(model: dict[str, Any]) -> dict[str, Any]:
    # Version 1 filled missing keys with the defaults of the code that wrote the file: configs written
    # before these options existed used the linear stem without context convs and mean pooling; before
    # spectrogram_context the audio stem had as many context convs as the others; before
    # time_profile_in_coarse the coarse space was mapped from the fine embedding with the time profile;
    # before mask_before_stem masked patches were removed after the stem, which had seen them.
    # A version-1 model without `modalities` had every modality of its day (later ones are not in its weights).
    model = {"modalities": list(VERSION_1_MODALITIES), "conv_stem": False, "stem_context": 0, "vector_pool": "mean",
             "time_profile_in_coarse": True, "mask_before_stem": False, **model}
    model.setdefault("spectrogram_context", model["stem_context"])
    timed, in_coarse = model.pop("fine_time_profile", False), model.pop("time_profile_in_coarse")
    model["time_profile"] = "none" if not timed else "fine_and_coarse" if in_coarse else "fine"
    if model["vector_pool"] == "mean_max_time":
        raise ValueError("model.vector_pool 'mean_max_time' is no longer built: no current vectorizer has its "
                         "per-time-slot weights. Its timing now lives in the fine heads (time_profile 'fine'); "
                         "train such a model anew")
    model.pop("time_slots", None)  # the slots of that pool only
    # Masking before the stem is always on now. A model trained with it off loads unchanged: its embeddings
    # are identical (only MAE masks before the stem), and only its MAE reconstructions differ, which were
    # leaky before (visible tokens carried their hidden neighbours' pixels through the conv stem).
    model.pop("mask_before_stem")
    _pop_constants(model, MODEL_CONSTANTS, "model", refuse=True)
    return model


def _train_1_to_2(train: dict[str, Any]) -> dict[str, Any]:
    train = dict(train)
    own = train.pop("stage_schedules", False)
    shared = {key: train.pop(key) for key in STAGE_SETTINGS if key in train}
    stages = [{**copy.deepcopy(shared), **stage, "schedule": "own" if own else "continue"}
              for stage in train.get("stages", [])]
    warmup = train.get("warmup_steps", 100)
    total = sum(stage.get("steps", 0) for stage in stages)
    if stages and not own and warmup > max(1, total // 5):
        # version 1 warmed one schedule over the whole plan for warmup_steps, however short the plan;
        # today's default warmup is at most a fifth of the schedule, so the old one is written in
        stages[0]["warmup_steps"] = warmup
    if "stages" in train:
        train["stages"] = stages
    train.pop("compile", None)  # how to run, not what to train: the --compile flag now
    _pop_constants(train, TRAIN_CONSTANTS, "train", refuse=False)
    return train


def _pop_constants(section: dict[str, Any], constants: dict[str, Any], where: str, refuse: bool) -> None:
    """Remove the settings that became constants, checking each names the constant's value."""
    for key, constant in constants.items():
        value = section.pop(key, constant)
        if value == constant:
            continue
        if refuse:
            raise ValueError(f"{where}.{key} is {value!r}, but it is no longer a setting: this code always "
                             f"uses {constant!r}, so a model built with another value cannot be loaded")
        warnings.warn(f"{where}.{key} is {value!r}, but it is no longer a setting: the model loads, and "
                      f"further training uses {constant!r}", stacklevel=5)


def _version_2_to_3(data: dict[str, Any]) -> dict[str, Any]:
    model = dict(data.get("model", {}))
    reads = model.pop("text_decoder_reads", "tokens")
    if reads != "tokens":
        raise ValueError(f"model.text_decoder_reads {reads!r} is no longer built: the text decoders read the "
                         f"backbone's tokens alone, and this model's decoders have weights this code does not "
                         f"build. Train its language stage again (train --init <a model that has not trained it "
                         f"yet> --from-stage language), or the model anew")
    return {**data, "format_version": 3, "model": model}


def _version_3_to_4(data: dict[str, Any]) -> dict[str, Any]:
    """Patch and tubelet sizes and the end of the cosine decay became constants: no preset, lab row or app
    control ever set another value."""
    model, train = dict(data.get("model", {})), dict(data.get("train", {}))
    _pop_constants(model, {"patch": PATCH, "tubelet": TUBELET}, "model", refuse=True)
    _pop_constants(train, {"min_lr": MIN_LR}, "train", refuse=False)
    return {**data, "format_version": 4, "model": model, "train": train}


def _version_4_to_5(data: dict[str, Any]) -> dict[str, Any]:
    model = dict(data.get("model", {}))
    pool = model.pop("vector_pool", "mean_max")
    if pool not in ("mean", "mean_max"):
        raise ValueError(f"model.vector_pool must be 'mean' or 'mean_max', got {pool!r}")
    counts = {name: model.pop(name, default) for name, default in VERSION_4_CONTEXT.items()}
    model["stem_context"] = {stem: counts[name] for stem, name in VERSION_4_CONTEXT_STEMS.items()}
    return {**data, "format_version": 5, "model": model}


def _weights_4_to_5(model: dict[str, Any], weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A "mean" vectorizer's projection (D, 2D) over meta and mean gets D zero columns for the max: the
    max's products are exact zeros, so the model computes what it did. (Weights without the projection
    are left for the loader to refuse as missing it.)"""
    if model.get("vector_pool", "mean_max") != "mean" or VECTORIZER_WEIGHT not in weights:
        return weights
    weight = weights[VECTORIZER_WEIGHT]
    return {**weights, VECTORIZER_WEIGHT: torch.cat([weight, weight.new_zeros(weight.shape[0], weight.shape[0])], 1)}


UPGRADES = {1: _version_1_to_2, 2: _version_2_to_3, 3: _version_3_to_4, 4: _version_4_to_5}  # version -> function that upgrades a config of that version by one
WEIGHT_UPGRADES = {4: _weights_4_to_5}  # version -> function that upgrades the weights of a model of that version
