"""Looks: how an event is drawn and recorded, varied where it should not matter.

The plain world draws every event one way (a dark tinted background, a shaded object, a clean signal, a
ground plane under every cloud). A model trained only there learns the renderer, not shapes, colours and
motions, and reads a picture on white paper near chance. A *varied* event keeps its shape, colour, motion,
size class and speed and changes everything else: the background, the object's style and apparent size,
the camera's blur, resolution and compression, the cloud's turn, ground and density, the sound's gain and
noise, the trace's gain and noise. ``sample_look`` draws a look per event from its own streams of the
counter RNG, so a look is deterministic per ``(seed, index, look_seed)`` like everything else, and
``look_seed`` redraws the looks of the same events (the Data tab's contact sheet).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

BACKGROUNDS = ("dark", "white", "paper", "light grey", "mid grey", "gradient", "noise", "stripes", "checks")
STYLES = ("shaded", "flat", "stroke")  # shaded as the plain world; flat fill; only a coloured outline
OUTLINES = ("none", "black", "darker")  # a dark rim around a shaded or flat object
RESOLUTIONS = (24, 32, 40, 48, 64)  # a varied picture is drawn at 64 px, seen at one of these, shown at 64
STRETCH = 0.25  # each axis of a varied object scaled by exp(+-STRETCH) at most: proportions as people make them
ZOOM_RANGE = (0.75, 2.1)  # apparent size multiplier (log-uniform), capped so the whole clip stays in frame
PLAIN = 0  # index of the plain look in BACKGROUNDS / STYLES / OUTLINES / RESOLUTIONS[-1]


@dataclass
class Look:
    """Per-event drawing parameters; every tensor has the batch as its first dimension."""

    varied: torch.Tensor      # (B,) bool: drawn with a varied look (else the plain world's)
    background: torch.Tensor  # (B,) index into BACKGROUNDS
    bg_colours: torch.Tensor  # (B, 2, 3) the background's two colours (gradients, stripes, checks, noise)
    bg_period: torch.Tensor   # (B,) stripe period / check cell, in pixels of a 64 px picture
    bg_angle: torch.Tensor    # (B,) direction of gradients and stripes (radians)
    bg_noise: torch.Tensor    # (B,) amplitude of a textured background's noise
    style: torch.Tensor       # (B,) index into STYLES
    outline: torch.Tensor     # (B,) index into OUTLINES
    stroke_px: torch.Tensor   # (B,) width of an outline or a stroke, pixels at 64 px
    brightness: torch.Tensor  # (B,) multiplies the object colour (inside its colour's name)
    zoom: torch.Tensor        # (B,) apparent size multiplier of the object (pictures, clips, depth)
    blur_px: torch.Tensor     # (B,) Gaussian blur sigma, pixels
    resolution: torch.Tensor  # (B,) side the picture is seen at before it is brought back to full size
    quality: torch.Tensor     # (B,) block-DCT quantiser step (0 = uncompressed); JPEG / H.264-like blocks
    pixel_noise: torch.Tensor  # (B,) sensor noise std
    yaw: torch.Tensor         # (B,) turn of depth camera and cloud about the vertical axis (radians)
    tumble: torch.Tensor      # (B, 3, 3) a cloud's rotation beyond the yaw (identity unless tumbled)
    stretch: torch.Tensor     # (B, 3) scale of the object along its own x, y, z (pictures use x and y): a
                              # drawn square is never quite square, a mesh file's cone has its own height
    ground: torch.Tensor      # (B,) bool: a cloud has its ground plane
    surface_points: torch.Tensor  # (B,) points sampled on the surface before resampling to the cloud size
    point_jitter: torch.Tensor  # (B,) jitter of each point, in object radii
    gain_db: torch.Tensor     # (B,) sound gain
    snr_db: torch.Tensor      # (B,) sound-to-noise ratio of added white noise (inf = none)
    imu_gain: torch.Tensor    # (B,) multiplies the IMU trace
    imu_noise: torch.Tensor   # (B,) extra white noise on the IMU trace (g and rad/s)


def looks_of(look: Look, rows: torch.Tensor) -> Look:
    """The looks of a subset of the events."""
    return Look(**{f.name: getattr(look, f.name)[rows] for f in fields(look)})


def _pick(u: torch.Tensor, values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32, device=u.device)[(u * len(values)).long().clamp(max=len(values) - 1)]


def _between(u: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * u


def _background_colours(rng) -> torch.Tensor:
    """(B, 2, 3) mostly grey colours with a faint tint: a background never names a colour of its own."""
    grey = rng.uniform("look_bg_grey", 2)[..., None]
    tint = (rng.uniform("look_bg_tint", 2, 3) - 0.5) * 0.16
    return (grey + tint).clamp(0.0, 1.0)


def sample_look(rng, varied_share: float, max_zoom: torch.Tensor) -> Look:
    """A look per event of ``rng`` (a CounterRNG); ``max_zoom`` (B,) keeps each event's clip inside the frame."""
    u = rng.uniform
    b = rng.index.shape[0]
    dev = rng.device
    varied = u("look_varied") < varied_share
    keep = lambda value, plain: torch.where(varied, value, torch.as_tensor(plain, device=dev, dtype=value.dtype))  # noqa: E731
    stretch = torch.where(varied[:, None], torch.exp((u("look_stretch", 3) * 2.0 - 1.0) * STRETCH),
                          torch.ones(b, 3, device=dev))
    zoom = torch.exp(_between(u("look_zoom"), math.log(ZOOM_RANGE[0]), math.log(ZOOM_RANGE[1])))
    zoom = torch.minimum(zoom, max_zoom / stretch[:, :2].amax(1))  # the stretched outline stays in frame too
    yaw = _between(u("look_yaw"), -math.pi, math.pi)
    tumbled = (u("look_tumble_on") < 0.75) & varied
    tumble = torch.where(tumbled[:, None, None], random_rotation(rng), torch.eye(3, device=dev).expand(b, 3, 3))
    return Look(
        varied=varied,
        background=keep((u("look_bg") * len(BACKGROUNDS)).long(), PLAIN),
        bg_colours=_background_colours(rng),
        bg_period=_between(u("look_bg_period"), 4.0, 16.0),
        bg_angle=u("look_bg_angle") * math.pi,
        bg_noise=_between(u("look_bg_noise"), 0.05, 0.3),
        style=keep((u("look_style") * len(STYLES)).long(), PLAIN),
        outline=keep((u("look_outline") * len(OUTLINES)).long(), PLAIN),
        stroke_px=_between(u("look_stroke"), 1.0, 3.5),
        brightness=keep(_between(u("look_bright"), 0.8, 1.08), 1.0),
        zoom=keep(zoom, 1.0),
        blur_px=keep(torch.where(u("look_blur_on") < 0.4, _between(u("look_blur"), 0.3, 1.3), 0.0), 0.0),
        resolution=keep(_pick(u("look_res"), RESOLUTIONS), RESOLUTIONS[-1]),
        quality=keep(torch.where(u("look_jpeg_on") < 0.4, _between(u("look_jpeg"), 0.02, 0.12), 0.0), 0.0),
        pixel_noise=keep(torch.where(u("look_pix_on") < 0.4, _between(u("look_pix"), 0.005, 0.04), 0.0), 0.0),
        yaw=keep(yaw, 0.0),
        tumble=tumble,
        stretch=stretch,
        ground=~varied | (u("look_ground") < 0.4),
        surface_points=keep(_pick(u("look_npts"), (256, 384, 512, 768, 1024, 2048)), 0.0),
        point_jitter=keep(_between(u("look_pjit"), 0.0, 0.03), 0.0),
        gain_db=keep(_between(u("look_gain"), -3.0, 3.0), 0.0),
        snr_db=keep(torch.where(u("look_snr_on") < 0.6, _between(u("look_snr"), 12.0, 40.0), math.inf), math.inf),
        imu_gain=keep(_between(u("look_imu_gain"), 0.9, 1.1), 1.0),
        imu_noise=keep(_between(u("look_imu_noise"), 0.0, 0.04), 0.0),
    )


def random_rotation(rng) -> torch.Tensor:
    """(B, 3, 3) rotations uniform over SO(3), from a uniform unit quaternion (Shoemake's method)."""
    u1, u2, u3 = rng.uniform("look_quat", 3).unbind(-1)
    a, b = torch.sqrt(1.0 - u1), torch.sqrt(u1)
    w, x = a * torch.sin(2 * math.pi * u2), a * torch.cos(2 * math.pi * u2)
    y, z = b * torch.sin(2 * math.pi * u3), b * torch.cos(2 * math.pi * u3)
    return torch.stack((
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    ), -1).view(-1, 3, 3)


def describe_look(look: Look, i: int) -> str:
    """One event's look in a few words, e.g. "paper, stroke, zoom 1.6, 32 px, blur 0.9"."""
    if not bool(look.varied[i]):
        return "plain"
    words = [BACKGROUNDS[int(look.background[i])], STYLES[int(look.style[i])]]
    if int(look.outline[i]) and words[1] != "stroke":
        words.append(f"{OUTLINES[int(look.outline[i])]} outline")
    words.append(f"zoom {float(look.zoom[i]):.1f}")
    if int(look.resolution[i]) < RESOLUTIONS[-1]:
        words.append(f"{int(look.resolution[i])} px")
    if float(look.blur_px[i]) > 0:
        words.append(f"blur {float(look.blur_px[i]):.1f}")
    if float(look.quality[i]) > 0:
        words.append("compressed")
    if not bool(look.ground[i]):
        words.append("no ground")
    return ", ".join(words)
