"""What a modality is: one `Modality` object owns everything that differs between modalities.

Model, objectives, analysis, evaluation and every app tab ask the registry entry instead of
branching on a modality's name. A grid modality (an image, a spectrogram, a trace) needs only the
defaults below plus its patchify; a modality of another structure (captions, point sets)
overrides the methods that differ.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from .loaded import Loaded

# A method's `cfg` is the model's ModelConfig (config.py), which sits above the registry and is not imported here.


@dataclass
class View:
    """One sample as the app shows it: the registry says what to draw, the app draws it.

    kind: "picture" (3, H, W) RGB in [0, 1]; "heat" (H, W) any range, brighter = larger;
    "animation" (T, 3, H, W); "sound" (S,) waveform in [-1, 1]; "cloud" (N, 3) points with
    `labels` (N,); "trace" (T, C) channels over time; "caption" a str."""
    kind: str
    data: Any
    labels: torch.Tensor | None = None
    rate: float | None = None        # samples per second of a sound or a trace
    channels: tuple[str, ...] = ()   # names of a trace's channels


@dataclass(frozen=True)
class Modality:
    name: str
    stem: str                    # key of the stem module that tokenizes it (image and video share "visual")
    channels: int                # C: input channels (meta token)
    frames: int                  # T: input time steps (video frames, spectrogram frames; 1 if static)
    height: int                  # H: input height (mel bins for audio; 1 if none)
    width: int                   # W: input width (1 if none)
    length: int                  # L: sequence length (word pieces, points, trace samples; 1 if none)
    tokens: int                  # token count the stem produces at the default size
    grid: tuple[int, int]        # (time steps, tokens per step) of the token grid, for tube/frame/causal masks
    observes: tuple[str, ...]    # attributes this modality can tell (a still image cannot tell motion)
    reconstruct: bool = True     # has an MAE target (captions have none)
    dense: bool = False          # has a dense (segmentation) target
    fine: bool = True            # an instance-level signal, in FAC's fine space (captions are coarse only)
    language: bool = False       # samples are captions: MIL-NCE partners, parsed for what they name
    anchor_rank: int | None = None  # contrastive anchor preference, lowest present first (None: never anchors)
    value_range: float | None = 1.0  # peak-to-peak of the MAE target for PSNR; None: measured on the data
    mask_ratio: float = 0.75     # default MAE mask ratio
    mask_type: str = "random"    # default MAE mask type
    stem_context: int = 1        # default context convs of its conv stem, where the stem cuts a 2-D map into
                                 # patches (model.stem_context; each widens a token's view by 2 patches)
    out_of_world: tuple[float, float] = (0.90, 0.98)  # (somewhat unlike, unlike) thresholds on the out-of-world
                                 # score (analysis/out_of_world.py), chosen by `python -m bench.out_of_world`
    layout: str = "sequence"     # how tokens lie for attention maps: "spatial", "spectrogram" or "sequence"
    view_kind: str = "picture"   # the kind of `View` a model input of this modality gives
    reads: tuple[str, ...] = ()  # kinds of user file (readers.kind_of) whose content gives this modality
    queries: tuple[str, ...] = ()  # kinds of uploaded file that query as this modality in retrieval
    label: str = ""              # how the app titles one sample (default: the name)

    # ---- data ----------------------------------------------------------------------------
    def batch_input(self, batch):
        """The model input of this modality in an OmniShapes EventBatch (None if not rendered)."""
        return batch.get(self.name)

    def dense_target(self, batch) -> torch.Tensor:
        """The batch's dense labels of this modality (0 background, 1+shape on the object)."""
        if not self.dense:
            raise ValueError(f"{self.name} has no dense target")
        return batch.segments[self.name]

    def from_loaded(self, loaded: Loaded) -> tuple[Any, list[str]]:
        """A user file read by the readers -> (model input without batch dimension, notes)."""
        return loaded.tensor, list(loaded.notes)

    # ---- model ---------------------------------------------------------------------------
    def stem_input(self, x):
        """The model input as its stem takes it."""
        return x

    def input_dims(self, x, text_window: int) -> tuple[int, int, int, int, int]:
        """The (T, H, W, C, L) an input presents, read from its actual shape (the meta token's content)."""
        raise NotImplementedError

    def stem_crosses_patches(self, cfg) -> bool:
        """A conv stem's receptive fields cross patch borders, so MAE blanks hidden patches before it."""
        return cfg.conv_stem

    def target_dim(self, cfg) -> int:
        """Length of one token's reconstruction target."""
        raise ValueError(f"{self.name} has no reconstruction target")

    def mae_target(self, cfg, x: torch.Tensor, extras: dict) -> torch.Tensor:
        """The raw input cut into the stem's tokens -> (B, N, target_dim). No per-patch normalisation,
        so a reconstruction never borrows the true patch statistics."""
        raise ValueError(f"{self.name} has no reconstruction target")

    def target_to_input(self, cfg, tokens: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Inverse of `mae_target`: (B, N, target_dim) -> the layout of `like` (B, ...)."""
        raise ValueError(f"{self.name} has no patch grid")

    def token_error(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(B, N, d) guesses against targets -> (B, N) mean squared error per token."""
        return (prediction - target).square().mean(-1)

    # ---- reconstruction as the app shows it ---------------------------------------------
    score_name: ClassVar[str] = "PSNR on hidden patches (dB)"
    metric: ClassVar[str] = "psnr"  # the key evaluation reports reconstruction under ("psnr" or "chamfer")
    positions_from_centres: ClassVar[bool] = False  # the MAE decoder places tokens by their stem's centres
    audible: ClassVar[bool] = False  # `sound_of` turns a model input back into a waveform to listen to

    def reconstruction_score(self, error: float, measured_range: float) -> float:
        """A mean token error as the modality reports it: PSNR (peak-to-peak `value_range`, or the
        measured one when the target has no fixed range)."""
        return psnr(error, self.value_range or measured_range)

    def blank(self, target: torch.Tensor) -> torch.Tensor:
        """What a hidden token shows in the masked-input panel."""
        return torch.zeros_like(target)

    def reconstruction_views(self, cfg, x: torch.Tensor, prediction: torch.Tensor,
                             target: torch.Tensor, mask: torch.Tensor, extras: dict) -> tuple:
        """One sample's (original, masked input, raw prediction, prediction pasted over the visible
        tokens), each in input layout. prediction/target (N, d), mask (N,) 1 where hidden."""
        hidden = mask[:, None].bool()
        masked = torch.where(hidden, self.blank(target), target)
        pasted = torch.where(hidden, prediction, target)
        as_input = lambda tokens: self.target_to_input(cfg, tokens[None], x[None])[0]  # noqa: E731
        return x, as_input(masked), as_input(prediction), as_input(pasted)

    def show_range(self, x: torch.Tensor) -> torch.Tensor:
        """A reconstruction clipped to what the input can hold, for display."""
        return x.clamp(0, 1)

    # ---- app -----------------------------------------------------------------------------
    def view(self, x) -> View:
        """One model input (no batch dimension) as the app shows it."""
        return View(self.view_kind, x)

    def event_views(self, batch, i: int) -> list[tuple[str, View]]:
        """Event i of an EventBatch, as (label, view) pairs: usually one, a sound also its spectrogram."""
        return [(self.label or self.name, self.view(self.batch_input(batch)[i]))]

    def sound_of(self, x) -> torch.Tensor | None:
        """A waveform to listen to for one model input, where the modality has one."""
        return None

    def describe_stem(self, cfg) -> str:
        """What the stem does, for the architecture diagram."""
        raise NotImplementedError

    # ---- explanations (analysis/attribution.py) --------------------------------------------
    def token_layout(self, scores: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Per-token values (N,), in the stem's order, laid out as the tokens lie: a sequence (N,) here;
        a patch grid, tubelets over time or bands x frames where the modality has one."""
        return scores.reshape(-1)

    def view_heat(self, scores: torch.Tensor, grid: tuple[int, int], x, extras: dict) -> torch.Tensor:
        """Per-token values (N,) spread over what `view(x)` draws: one value per pixel, frame pixel, point,
        sample or token. `extras` are the stem's for this one sample (a cloud's group centres (G, 3))."""
        return self.token_layout(scores, grid)

    def token_name(self, index: int, grid: tuple[int, int]) -> str:
        """Where token `index` lies, in words."""
        return f"token {index + 1} of {grid[0] * grid[1]}"


def spread_heat(laid: torch.Tensor, shape) -> torch.Tensor:
    """Values on a coarse grid (..., rows, cols) or (t, rows, cols) stretched over a finer one of `shape`,
    each cell's value on every element it covers (nearest)."""
    stretched = torch.nn.functional.interpolate(laid[None, None].float(), size=tuple(shape), mode="nearest")
    return stretched[0, 0]


def psnr(mean_squared_error, value_range: float) -> float:
    """Peak signal-to-noise ratio in dB of a mean squared error (a float or a 0-d tensor, taken at
    float32 precision either way) at a peak-to-peak range."""
    error = torch.as_tensor(mean_squared_error, dtype=torch.float32).item()
    return 10 * math.log10(value_range**2 / max(error, 1e-12))
