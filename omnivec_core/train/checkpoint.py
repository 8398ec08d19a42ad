"""Model directories: config.json + model.safetensors (+ train_state.* for --resume).

Every file is written atomically (`omnivec_core.io`), so a run killed during a save leaves the previous
complete file. Nothing is pickled.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from ..config import ExperimentConfig, read_config_object
from ..io import atomic_write, write_json
from ..migrate import migrate_weights
from ..model import OmniVec

CONFIG, WEIGHTS = "config.json", "model.safetensors"
TRAIN_TENSORS, TRAIN_STATE = "train_state.safetensors", "train_state.json"


class CheckpointError(ValueError):
    """A model directory that cannot be used, with the reason in words."""


def save_model(directory: Path, model: OmniVec, config: ExperimentConfig, step: int) -> None:
    directory = Path(directory)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.trainable_state_dict().items()}
    write_json(directory / CONFIG, config.to_dict())
    atomic_write(directory / WEIGHTS, lambda temp: save_file(tensors, temp, metadata={"step": str(step)}))


def save_train_state(directory: Path, optimizer: torch.optim.Optimizer, step: int, extra: dict) -> None:
    """Optimizer moments as tensors; step, hyper-parameters and counters as JSON."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value) and value.dim() > 0:
                tensors[f"{index}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{index}.{key}"] = float(value)
    atomic_write(Path(directory) / TRAIN_TENSORS, lambda temp: save_file(tensors, temp, metadata={"step": str(step)}))
    groups = [{k: v for k, v in g.items() if k != "params"} | {"params": g["params"]} for g in state["param_groups"]]
    write_json(Path(directory) / TRAIN_STATE, {"step": step, "scalars": scalars, "param_groups": groups, **extra})


def load_train_state(directory: Path, optimizer: torch.optim.Optimizer) -> dict:
    """Restore the optimizer; returns the JSON part (step, counters). Refuses mismatched files."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / TRAIN_STATE).read_text())
        tensors = load_file(directory / TRAIN_TENSORS)
        with safe_open(directory / TRAIN_TENSORS, "pt") as handle:
            saved_step = int((handle.metadata() or {}).get("step", -1))
    except FileNotFoundError as error:
        raise CheckpointError(f"cannot resume: {error.filename} is missing") from None
    except (json.JSONDecodeError, SafetensorError) as error:
        raise CheckpointError(f"cannot resume from {directory}: a training-state file is damaged ({error})") from None
    if saved_step != meta["step"]:
        raise CheckpointError(f"cannot resume: optimizer tensors are from step {saved_step}, state from {meta['step']}")
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    for key, value in meta["scalars"].items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = torch.tensor(value)
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    return meta


def load_model(directory: Path, device: str | torch.device = "cpu") -> tuple[OmniVec, ExperimentConfig]:
    """Build the model from config.json and load model.safetensors (both upgraded from an older format by
    `migrate`), refusing any disagreement."""
    directory = Path(directory)
    if not (directory / CONFIG).is_file() or not (directory / WEIGHTS).is_file():
        raise CheckpointError(f"{directory} is not a model directory: it needs {CONFIG} and {WEIGHTS}")
    try:
        data = read_config_object(directory / CONFIG)
        config = ExperimentConfig.from_dict(data)
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(f"{directory / CONFIG} is not a valid model config: {error}") from None
    try:
        weights = migrate_weights(data, load_file(directory / WEIGHTS))
    except SafetensorError as error:
        raise CheckpointError(f"{directory / WEIGHTS} is damaged: {error}") from None
    model = OmniVec(config.model)
    expected = model.trainable_state_dict()
    missing, unexpected = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    wrong = sorted(k for k in set(expected) & set(weights) if expected[k].shape != weights[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(f"{label}: {names[:4]}{' ...' if len(names) > 4 else ''}" for label, names in
                           (("missing", missing), ("unexpected", unexpected), ("shape differs", wrong)) if names)
        raise CheckpointError(f"config.json and model.safetensors in {directory} disagree ({detail})")
    model.load_state_dict(weights, strict=False)
    return model.to(device).eval(), config
