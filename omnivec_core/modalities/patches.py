"""Patchify / unpatchify for every grid modality, and point grouping (FPS + kNN).

The same functions give the stems their inputs and the MAE its targets, so a reconstruction is
always compared with exactly what the stem saw.
"""
from __future__ import annotations

import torch


def pad_frames(video: torch.Tensor, tubelet: int) -> torch.Tensor:
    """(B, T, ...) -> (B, T', ...) with T' a multiple of `tubelet`, repeating the last frame."""
    pad = -video.shape[1] % tubelet
    return video if not pad else torch.cat([video, video[:, -1:].expand(-1, pad, *video.shape[2:])], dim=1)


def patchify_video(video: torch.Tensor, tubelet: int, patch: int) -> torch.Tensor:
    """(B, T, C, H, W) -> (B, T/t * H/p * W/p, t*p*p*C); a short clip is padded by repeating its last frame."""
    video = pad_frames(video, tubelet)
    batch, frames, chans, height, width = video.shape
    t, h, w = frames // tubelet, height // patch, width // patch
    x = video.reshape(batch, t, tubelet, chans, h, patch, w, patch)
    x = x.permute(0, 1, 4, 6, 2, 5, 7, 3)  # (B, t, h, w, tubelet, p, p, C)
    return x.reshape(batch, t * h * w, tubelet * patch * patch * chans)


def unpatchify_video(patches: torch.Tensor, grid: tuple[int, int, int], tubelet: int, patch: int,
                     chans: int) -> torch.Tensor:
    """(B, t*h*w, tubelet*p*p*C) -> (B, t*tubelet, C, h*p, w*p)."""
    t, h, w = grid
    batch = patches.shape[0]
    x = patches.reshape(batch, t, h, w, tubelet, patch, patch, chans)
    x = x.permute(0, 1, 4, 7, 2, 5, 3, 6)  # (B, t, tubelet, C, h, p, w, p)
    return x.reshape(batch, t * tubelet, chans, h * patch, w * patch)


def patchify_2d(image: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, H/p * W/p, p*p*C), row-major over the patch grid."""
    return patchify_video(image.unsqueeze(1), 1, patch)


def unpatchify_2d(patches: torch.Tensor, grid: tuple[int, int], patch: int, chans: int) -> torch.Tensor:
    """(B, h*w, p*p*C) -> (B, C, h*p, w*p)."""
    return unpatchify_video(patches, (1, *grid), 1, patch, chans)[:, 0]


def patchify_spectrogram(mel: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, 1, F, T) -> (B, T/p * F/p, p*p): time-major, so token rows are time steps (frame masks)."""
    return patchify_2d(mel.transpose(-1, -2), patch)


def unpatchify_spectrogram(patches: torch.Tensor, grid: tuple[int, int], patch: int) -> torch.Tensor:
    """(B, t*f, p*p) with grid (t, f) -> (B, 1, F, T)."""
    return unpatchify_2d(patches, grid, patch, 1).transpose(-1, -2)


def farthest_point_sample(xyz: torch.Tensor, count: int) -> torch.Tensor:
    """(B, N, 3) -> (B, count) indices; starts from the point farthest from the centroid (deterministic)."""
    batch = xyz.shape[0]
    rows = torch.arange(batch, device=xyz.device)
    nearest = torch.full(xyz.shape[:2], float("inf"), device=xyz.device, dtype=xyz.dtype)
    current = (xyz - xyz.mean(1, keepdim=True)).square().sum(-1).argmax(-1)
    chosen = []
    for _ in range(count):
        chosen.append(current)
        distance = (xyz - xyz[rows, current].unsqueeze(1)).square().sum(-1)
        nearest = torch.minimum(nearest, distance)
        current = nearest.argmax(-1)
    return torch.stack(chosen, dim=1)


def group_points(xyz: torch.Tensor, groups: int, group_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N, 3) -> centres (B, G, 3) and neighbourhoods relative to them (B, G, k, 3)."""
    batch = xyz.shape[0]
    rows = torch.arange(batch, device=xyz.device)[:, None]
    centres = xyz[rows, farthest_point_sample(xyz, groups)]                      # (B, G, 3)
    neighbours = torch.cdist(centres, xyz).topk(group_size, largest=False).indices  # (B, G, k)
    local = xyz[rows[:, :, None], neighbours] - centres.unsqueeze(2)              # (B, G, k, 3)
    return centres, local


def nearest_centre(xyz: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """(B, N, 3), (B, G, 3) -> (B, N) index of each point's nearest centre."""
    return torch.cdist(xyz, centres).argmin(-1)
