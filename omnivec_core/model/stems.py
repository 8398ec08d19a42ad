"""Modality stems: raw signal -> tokens of width `stem_dim` with factorized learnable positions.

Every stem returns a `StemOutput`; the model then projects all of them into the shared width.
"""
from __future__ import annotations

import torch
from timm.layers import Mlp
from torch import nn

from ..config import ModelConfig
from ..constants import PATCH, TUBELET
from ..modalities import REGISTRY
from ..modalities import imu, patches
from .text import make_text_stem
from .tokens import StemOutput


class FactorizedPosition(nn.Module):
    """VATT-style factorized position: one learnable table per grid axis, summed."""

    def __init__(self, axis_sizes: tuple[int, ...], dim: int):
        super().__init__()
        self.tables = nn.ParameterList(nn.Parameter(torch.randn(size, dim) * 0.02) for size in axis_sizes)

    def forward(self, shape: tuple[int, ...]) -> torch.Tensor:
        """Positions for a grid of `shape` (each axis at most its table's size) -> (prod(shape), dim)."""
        total = 0
        for axis, (size, table) in enumerate(zip(shape, self.tables)):
            if size > table.shape[0]:
                raise ValueError(f"input has {size} positions on axis {axis}, the stem was built for {table.shape[0]}")
            view = [1] * len(shape) + [table.shape[1]]
            view[axis] = size
            total = total + table[:size].reshape(view)
        return total.reshape(-1, self.tables[0].shape[1])


class ConvPatchEmbed(nn.Module):
    """Early convolutions (Xiao et al. 2021): log2(p) stride-2 3x3 convs in place of one linear
    patchify. A plain patch projection learns shapes slowly when objects span only a few patches;
    the conv stack sees edges and corners inside each patch from the first step. `context` stride-1
    convs at patch resolution then widen each token's view from about 2 to 4 patches, so one token
    can see a whole small object."""

    def __init__(self, channels: int, dim: int, patch: int, context: int = 0):
        super().__init__()
        if patch < 2 or patch & (patch - 1):
            raise ValueError(f"the conv stem needs a power-of-two patch size, got {patch}")
        layers, width = [], max(dim // (patch // 2), 8)
        while patch > 1:
            layers += [nn.Conv2d(channels, width, 3, stride=2, padding=1), nn.GroupNorm(1, width), nn.GELU()]
            channels, width, patch = width, min(width * 2, dim), patch // 2
        for _ in range(context):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.GroupNorm(1, channels), nn.GELU()]
        self.body = nn.Sequential(*layers)
        self.out_dim = channels

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, H/p * W/p, out_dim), row-major over the patch grid."""
        return self.body(image).flatten(2).transpose(1, 2)


class VisualStem(nn.Module):
    """Video tubelets (t x p x p); an image is a 1-frame video, repeated to fill one tubelet."""

    def __init__(self, cfg: ModelConfig, max_frames: int = 8, size: int = 64):
        super().__init__()
        self.tubelet, self.patch = TUBELET, PATCH
        self.conv = ConvPatchEmbed(3, cfg.stem_dim, PATCH, cfg.stem_context["visual"]) if cfg.conv_stem else None
        frame_dim = self.conv.out_dim if self.conv else PATCH**2 * 3
        self.proj = nn.Linear(TUBELET * frame_dim, cfg.stem_dim)
        grid = size // PATCH
        self.pos = FactorizedPosition((max_frames // TUBELET, grid, grid), cfg.stem_dim)

    def token_grid(self, video: torch.Tensor) -> tuple[int, int]:
        """(time steps, tokens per step) that `video` (B, T, C, H, W) becomes, without running the stem."""
        return -(-video.shape[1] // self.tubelet), (video.shape[3] // self.patch) * (video.shape[4] // self.patch)

    def forward(self, video: torch.Tensor) -> StemOutput:
        t, _ = grid = self.token_grid(video)
        h, w = video.shape[3] // self.patch, video.shape[4] // self.patch
        tokens = self.proj(self._tubelet_features(video))  # (B, t*h*w, stem_dim)
        return StemOutput(tokens + self.pos((t, h, w)), grid)

    def _tubelet_features(self, video: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) -> (B, t*h*w, tubelet * per-frame feature)."""
        if self.conv is None:
            return patches.patchify_video(video, self.tubelet, self.patch)
        batch, frames = video.shape[:2]
        # convolve each real frame once, then repeat features (an image fills its tubelet this way)
        per_frame = self.conv(video.flatten(0, 1)).unflatten(0, (batch, frames))  # (B, T, h*w, E)
        per_frame = patches.pad_frames(per_frame, self.tubelet)                   # (B, T', h*w, E)
        per_frame = per_frame.unflatten(1, (-1, self.tubelet))                    # (B, t, tubelet, h*w, E)
        return per_frame.transpose(2, 3).flatten(3).flatten(1, 2)     # (B, t*h*w, tubelet*E)


class PatchStem(nn.Module):
    """Single-channel 2D maps (depth, log-mel) as p x p patches; spectrograms are ordered time-major. `key` is
    the stem's key in STEMS, which names its context convs in `cfg.stem_context`."""

    def __init__(self, cfg: ModelConfig, key: str, size: int = 64, spectrogram: bool = False):
        super().__init__()
        self.patch, self.spectrogram = PATCH, spectrogram
        self.conv = ConvPatchEmbed(1, cfg.stem_dim, PATCH, cfg.stem_context[key]) if cfg.conv_stem else None
        self.proj = nn.Linear(self.conv.out_dim if self.conv else PATCH**2, cfg.stem_dim)
        grid = size // PATCH
        self.pos = FactorizedPosition((grid, grid), cfg.stem_dim)

    def token_grid(self, image: torch.Tensor) -> tuple[int, int]:
        """(time steps, tokens per step) that `image` (B, 1, H, W) becomes, without running the stem."""
        rows, cols = image.shape[2] // self.patch, image.shape[3] // self.patch
        return (cols, rows) if self.spectrogram else (1, rows * cols)  # a spectrogram's rows are time steps

    def forward(self, image: torch.Tensor) -> StemOutput:
        grid = self.token_grid(image)
        if self.spectrogram:  # (B, 1, F, T): rows of the token grid are time steps
            image = image.transpose(-1, -2)
        rows, cols = image.shape[2] // self.patch, image.shape[3] // self.patch
        flat = self.conv(image) if self.conv else patches.patchify_2d(image, self.patch)
        tokens = self.proj(flat) + self.pos((rows, cols))  # (B, rows*cols, stem_dim)
        return StemOutput(tokens, grid)


class PointStem(nn.Module):
    """Point-MAE style: farthest-point centres, kNN groups, a mini-PointNet per group."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.groups, self.group_size = cfg.point_groups, cfg.point_group_size
        self.point_mlp = Mlp(3, 64, 128)
        self.group_proj = nn.Linear(256, cfg.stem_dim)
        self.pos = Mlp(3, 128, cfg.stem_dim)  # positions are the centres' coordinates

    def forward(self, xyz: torch.Tensor) -> StemOutput:
        if xyz.shape[1] < self.group_size:
            raise ValueError(f"a point cloud needs at least {self.group_size} points, got {xyz.shape[1]}")
        centres, local = patches.group_points(xyz, self.groups, self.group_size)
        features = self.point_mlp(local)                               # (B, G, k, 128)
        pooled = torch.cat([features.amax(2), features.mean(2)], -1)   # (B, G, 256)
        tokens = self.group_proj(pooled) + self.pos(centres)           # (B, G, stem_dim)
        return StemOutput(tokens, (1, self.groups), extras={"centres": centres, "local": local})


def make_stems(cfg: ModelConfig) -> nn.ModuleDict:
    """One stem per stem key used by the enabled modalities (image and video share "visual")."""
    stems = nn.ModuleDict()
    for m in cfg.modalities:
        key = REGISTRY[m].stem
        if key not in stems:
            stems[key] = STEMS[key](cfg)
    return stems


class TraceStem(nn.Module):
    """Multichannel signals over time (an IMU trace) as 1-D patches: a conv front (with conv_stem) reads
    each sample with its neighbours, then every `patch` samples become one token."""

    def __init__(self, cfg: ModelConfig, channels: int, patch: int, max_samples: int):
        super().__init__()
        self.patch = patch
        front = max(cfg.stem_dim // 4, 16)
        self.front = nn.Sequential(nn.Conv1d(channels, front, 5, padding=2), nn.GroupNorm(1, front), nn.GELU()) \
            if cfg.conv_stem else None
        self.proj = nn.Conv1d(front if cfg.conv_stem else channels, cfg.stem_dim, patch, stride=patch)
        self.pos = FactorizedPosition((max_samples // patch,), cfg.stem_dim)

    def token_grid(self, trace: torch.Tensor) -> tuple[int, int]:
        """(time steps, tokens per step) that `trace` (B, T, C) becomes, without running the stem."""
        return trace.shape[1] // self.patch, 1

    def forward(self, trace: torch.Tensor) -> StemOutput:
        steps, _ = grid = self.token_grid(trace)
        x = trace.transpose(1, 2)                                  # (B, C, T)
        if self.front is not None:
            x = self.front(x)                                      # (B, front, T)
        tokens = self.proj(x).transpose(1, 2)                      # (B, T/p, stem_dim)
        return StemOutput(tokens + self.pos((steps,)), grid)


# stem key of a registry entry -> the module that tokenizes its input
STEMS = {
    "visual": VisualStem,
    "audio": lambda cfg: PatchStem(cfg, "audio", spectrogram=True),
    "depth": lambda cfg: PatchStem(cfg, "depth"),
    "points": PointStem,
    "text": make_text_stem,
    "imu": lambda cfg: TraceStem(cfg, len(imu.CHANNELS), imu.PATCH, imu.IMU_SENSOR.frames),
}
