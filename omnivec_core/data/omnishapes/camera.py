"""What a varied look does to pictures: the background behind the object and the camera in front of it
(resolution, blur, noise, block compression), batched in torch like the rest of the renderer."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .looks import BACKGROUNDS, Look

BLOCK = 8  # side of a compression block, as JPEG and H.264's transforms
# Quantiser weight per DCT frequency (i + j): coarser at high frequencies, as every codec's tables are.
_FREQ_WEIGHT = 1.0 + 0.6 * (torch.arange(BLOCK)[:, None] + torch.arange(BLOCK)[None, :]).float()
_RGB_TO_YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.1687, -0.3313, 0.5], [0.5, -0.4187, -0.0813]])


def _kind_mask(look: Look, name: str) -> torch.Tensor:
    return (look.background == BACKGROUNDS.index(name))[:, None, None, None]


def varied_background(look: Look, rng, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) every varied background kind, each event showing its own; xs, ys in [-1, 1]."""
    size = xs.shape[0]
    c0, c1 = look.bg_colours[:, 0, :, None, None], look.bg_colours[:, 1, :, None, None]  # (B, 3, 1, 1)
    grey0 = look.bg_colours[:, 0].mean(1)[:, None, None, None]
    pixels = rng.uniform("look_bg_pixels", 3, size, size) - 0.5  # (B, 3, H, W)
    coarse = F.interpolate(rng.uniform("look_bg_coarse", 3, 8, 8) - 0.5, size=(size, size), mode="bilinear",
                           align_corners=False)
    px = xs * (size / 2.0)  # pixel units
    py = ys * (size / 2.0)
    ca, sa = torch.cos(look.bg_angle)[:, None, None, None], torch.sin(look.bg_angle)[:, None, None, None]
    along = ca * xs[None, None, None, :] + sa * ys[None, None, :, None]  # (B, 1, H, W) in about [-1.4, 1.4]
    period = look.bg_period[:, None, None, None]
    stripe = torch.sin(2.0 * math.pi * along * (size / 2.0) / period) > 0
    cell = (torch.floor(px[None, None, None, :] / period) + torch.floor(py[None, None, :, None] / period)) % 2 == 0
    warm = torch.tensor([0.02, 0.0, -0.03], device=xs.device)[None, :, None, None]
    texture = look.bg_noise[:, None, None, None] * (0.6 * pixels + 0.4 * pixels.mean(1, keepdim=True) + coarse)
    kinds = {
        "white": 0.93 + 0.07 * grey0,
        "paper": 0.86 + 0.1 * grey0 + warm + 0.03 * pixels.mean(1, keepdim=True) + 0.05 * coarse.mean(1, keepdim=True),
        "light grey": 0.62 + 0.23 * grey0 + 0.25 * (c0 - grey0),
        "mid grey": 0.33 + 0.25 * grey0 + 0.25 * (c0 - grey0),
        "gradient": c0 + (c1 - c0) * (0.5 + 0.36 * along),
        "noise": c0 + texture,
        "stripes": torch.where(stripe, c0, c1),
        "checks": torch.where(cell, c0, c1),
    }
    out = torch.zeros(look.background.shape[0], 3, size, size, device=xs.device)
    for name, value in kinds.items():
        out = torch.where(_kind_mask(look, name), value.expand_as(out), out)
    return out.clamp_(0.0, 1.0)


def through_camera(video: torch.Tensor, look: Look, rng) -> torch.Tensor:
    """(B, F, 3, H, W) frames as a varied look's camera sees them: resolution, blur, noise, compression.
    Plain events pass untouched."""
    rows = look.varied.nonzero().flatten()
    if rows.numel() == 0:
        return video
    seen = video[rows]
    b, f, c, h, w = seen.shape
    flat = seen.reshape(b, f * c, h, w)  # every frame of an event through one camera
    flat = _resample(flat, look.resolution[rows])
    flat = _blur(flat, look.blur_px[rows])
    noise = (rng.rows(rows).uniform("look_pixel_noise", f * c, h, w) - 0.5) * math.sqrt(12.0)
    flat = flat + look.pixel_noise[rows, None, None, None] * noise
    flat = _compress(flat.reshape(b * f, c, h, w), look.quality[rows].repeat_interleave(f)).reshape(b, f * c, h, w)
    out = video.clone()
    out[rows] = flat.clamp_(0.0, 1.0).reshape(b, f, c, h, w)
    return out


def _resample(x: torch.Tensor, side: torch.Tensor) -> torch.Tensor:
    """Each event seen at its own side length, then brought back to full size (detail lost, edges soft)."""
    full = x.shape[-1]
    out = x.clone()
    for s in side.unique().tolist():
        if int(s) >= full:
            continue
        rows = (side == s).nonzero().flatten()
        small = F.interpolate(x[rows], size=(int(s), int(s)), mode="bilinear", antialias=True, align_corners=False)
        out[rows] = F.interpolate(small, size=(full, full), mode="bilinear", align_corners=False)
    return out


def _blur(x: torch.Tensor, sigma: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """Separable Gaussian blur with each event's sigma (0: unchanged), as one grouped convolution."""
    b, ch, h, w = x.shape
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (taps[None, :] / sigma.clamp(min=1e-3)[:, None]) ** 2)  # (B, 2r+1)
    kernel = kernel / kernel.sum(1, keepdim=True)
    kernel = kernel.repeat_interleave(ch, 0)  # one kernel per channel of each event
    flat = x.reshape(1, b * ch, h, w)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"), kernel[:, None, None, :], groups=b * ch)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"), kernel[:, None, :, None], groups=b * ch)
    return flat.view(b, ch, h, w)


def _dct_matrix(n: int, device) -> torch.Tensor:
    k = torch.arange(n, device=device, dtype=torch.float32)
    m = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m  # orthonormal DCT-II


def _compress(x: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) through block-DCT quantisation in YCbCr (chroma twice as coarse), as lossy codecs do;
    a step of 0 leaves a picture as it is."""
    n, _, h, w = x.shape
    if h % BLOCK or w % BLOCK or not bool((step > 0).any()):
        return x
    to_ycc = _RGB_TO_YCC.to(x.device)
    ycc = torch.einsum("ij,njhw->nihw", to_ycc, x)
    d = _dct_matrix(BLOCK, x.device)
    blocks = ycc.unflatten(2, (h // BLOCK, BLOCK)).unflatten(4, (w // BLOCK, BLOCK))  # (N, 3, h/8, 8, w/8, 8)
    coef = torch.einsum("ai,ncpiqj,bj->ncpqab", d, blocks, d)  # (N, 3, h/8, w/8, 8, 8)
    q = step[:, None, None, None, None, None] * _FREQ_WEIGHT.to(x.device) * torch.tensor(
        [1.0, 2.0, 2.0], device=x.device)[None, :, None, None, None, None]
    quantised = torch.where(q > 0, torch.round(coef / q.clamp(min=1e-6)) * q, coef)
    back = torch.einsum("ai,ncpqab,bj->ncpiqj", d, quantised, d).reshape(n, 3, h, w)
    return torch.einsum("ij,njhw->nihw", torch.linalg.inv(to_ycc), back)
