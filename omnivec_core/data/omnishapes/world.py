"""The OmniShapes world: attribute tables, a counter-based RNG and event sampling.

Every random quantity of an event is a pure function of ``(seed, event index, stream
name, counter)``, computed with an integer hash in int64 torch ops. So an event is the
same whatever batch or start offset renders it, and the same on CPU and CUDA.
Only torch, numpy, the standard library and the modality registry (itself torch only) may be
imported in this package (besides ``preview.py``).
"""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import torch

from .looks import Look, sample_look

SHAPES = ("circle", "square", "triangle", "ring", "diamond", "hexagon", "cross", "pill")
SOLIDS = ("sphere", "cube", "cone", "torus", "octahedron", "hexagonal prism", "cross prism", "capsule")
COLOURS = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink")
MOTIONS = ("left", "right", "up", "down", "bounce", "spin", "grow", "shrink")
SIZES = ("small", "large")
SPEEDS = ("slow", "fast")
ATTRIBUTES = {"shape": SHAPES, "colour": COLOURS, "motion": MOTIONS, "size": SIZES, "speed": SPEEDS}

# Base RGB of each colour class (a small per-event jitter is added).
COLOUR_RGB = (
    (0.92, 0.16, 0.14), (0.98, 0.56, 0.10), (0.96, 0.90, 0.16), (0.18, 0.80, 0.26),
    (0.12, 0.86, 0.92), (0.20, 0.38, 0.98), (0.62, 0.26, 0.90), (0.98, 0.48, 0.76),
)
# Base pitch of each colour class: minor-third steps from A3, 220 Hz .. 740 Hz.
PITCH_HZ = tuple(220.0 * 2.0 ** (3 * k / 12) for k in range(len(COLOURS)))
# Continuous ranges inside each bucket (a gap between buckets keeps labels unambiguous).
SIZE_RANGES = ((0.20, 0.28), (0.34, 0.44))  # frame-0 radius, image half-width = 1
SPEED_RANGES = ((0.45, 0.75), (1.05, 1.40))  # unitless speed multiplier
MAX_ROTATION = math.radians(30.0)  # frame-0 rotation is uniform in [-30, 30] degrees
EXTENT = 1.05  # every silhouette / solid fits in this radius (object units)
FRAME_LIMIT = 0.90  # the object (plus its 2.5-pixel flash rim) stays inside [-0.9, 0.9]^2
ZOOMED_REACH = 0.72  # a zoomed object's widest reach: leaves room for every motion's path in the frame

MASK32 = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9
# A 32-bit xorshift-multiply hash (C. Wellons' hash-prospector, bias ~0.108). Both
# multipliers are below 2**31, so for x < 2**32 the int64 product never overflows.
_M1, _M2 = 0x21F0AAAD, 0x735A2D97


def _hash32_int(x: int) -> int:
    """The hash on a Python int (used for the per-call stream/seed key)."""
    x &= MASK32
    x ^= x >> 16
    x = (x * _M1) & MASK32
    x ^= x >> 15
    x = (x * _M2) & MASK32
    x ^= x >> 15
    return x


def hash32(x: torch.Tensor) -> torch.Tensor:
    """The same hash elementwise on int64 tensors holding values in [0, 2**32)."""
    x = x ^ (x >> 16)
    x = (x * _M1) & MASK32
    x = x ^ (x >> 15)
    x = (x * _M2) & MASK32
    return x ^ (x >> 15)


class CounterRNG:
    """Counter-based random numbers for a batch of events.

    ``bits(stream, *shape)`` returns ``(B, *shape)`` 32-bit values that depend only on the
    seed, each event's global index, the stream name and the position in ``shape``.
    """

    def __init__(self, seed: int, index: torch.Tensor):
        self.seed = int(seed)
        self.index = index
        self.device = index.device
        self._lo = index & MASK32
        self._hi = (index >> 32) & MASK32

    def _key(self, stream: str) -> int:
        k = _hash32_int(zlib.crc32(stream.encode("utf-8")))
        k = _hash32_int(k ^ (self.seed & MASK32))
        return _hash32_int(k ^ ((self.seed >> 32) & MASK32))

    def bits(self, stream: str, *shape: int) -> torch.Tensor:
        e = hash32(self._lo ^ self._key(stream))
        e = hash32(e ^ self._hi)
        if not shape:
            return e
        count = math.prod(shape)
        j = torch.arange(1, count + 1, device=self.device, dtype=torch.int64)
        x = hash32((e[:, None] + ((j * _GOLDEN) & MASK32)[None, :]) & MASK32)
        return x.view(-1, *shape)

    def rows(self, rows: torch.Tensor) -> "CounterRNG":
        """The same streams for a subset of the events (their numbers depend only on seed and index)."""
        return CounterRNG(self.seed, self.index[rows])

    def uniform(self, stream: str, *shape: int) -> torch.Tensor:
        """Floats in [0, 1) with 24 random bits."""
        return (self.bits(stream, *shape) >> 8).to(torch.float32) * (1.0 / 16777216.0)

    def integers(self, stream: str, high: int, *shape: int) -> torch.Tensor:
        return (self.bits(stream, *shape) % high).long()


@dataclass
class Events:
    """All parameters of a batch of events (internal; see ``EventBatch`` for the public view)."""

    seed: int
    index: torch.Tensor  # (B,) global event index
    rng: CounterRNG
    frames: int  # number of video frames T
    shape: torch.Tensor  # (B,) class ids
    colour: torch.Tensor
    motion: torch.Tensor
    size_cls: torch.Tensor
    speed_cls: torch.Tensor
    radius: torch.Tensor  # (B,) frame-0 radius (image half-width = 1)
    speed: torch.Tensor  # (B,) continuous speed multiplier
    position: torch.Tensor  # (B, 2) frame-0 centre, y up
    angle: torch.Tensor  # (B,) frame-0 rotation (radians)
    velocity: torch.Tensor  # (B, 2) displacement per clip (left/right/up/down)
    hop_rate: torch.Tensor  # (B,) bounces per clip (0 unless bounce)
    hop_height: torch.Tensor  # (B,) bounce height (0 unless bounce)
    spin_rate: torch.Tensor  # (B,) signed revolutions per clip (0 unless spin)
    log_growth: torch.Tensor  # (B,) log scale change per clip (>0 grow, <0 shrink)
    flash: torch.Tensor  # (B, T) bool, frames with a flash / audio onset
    rgb: torch.Tensor  # (B, 3) object colour
    bg_base: torch.Tensor  # (B, 3) background tint
    bg_grad: torch.Tensor  # (B, 2) background gradient along x and y
    look: Look  # how the event is drawn and recorded (looks.py); the plain world's unless varied

    @property
    def visual_radius(self) -> torch.Tensor:
        """(B,) frame-0 radius as pictures show it: the size class's radius times the look's zoom."""
        return self.radius * self.look.zoom

    def __len__(self) -> int:
        return self.index.shape[0]

    def trajectory(self, u: torch.Tensor):
        """Centre (B,F,2), scale (B,F) and angle (B,F) at clip times ``u`` (F,) in [0, 1)."""
        u = u.to(self.radius.device, torch.float32)[None, :]
        centre = self.position[:, None, :] + self.velocity[:, None, :] * u[..., None]
        hop = self.hop_height[:, None] * torch.sin(math.pi * self.hop_rate[:, None] * u).abs()
        centre = torch.stack((centre[..., 0], centre[..., 1] + hop), dim=-1)
        scale = self.visual_radius[:, None] * torch.exp(self.log_growth[:, None] * u)
        angle = self.angle[:, None] + (2.0 * math.pi) * self.spin_rate[:, None] * u
        return centre, scale, angle


def _lerp_table(table, cls: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    t = torch.tensor(table, dtype=torch.float32, device=cls.device)[cls]
    return t[:, 0] + u * (t[:, 1] - t[:, 0])


def sample_events(seed: int, index: torch.Tensor, frames: int, siblings: int = 1, varied: float = 0.0,
                  look_seed: int = 0) -> Events:
    """Draw every parameter of the events ``index`` (B,) under ``seed``, batched.

    With ``siblings`` > 1, each run of ``siblings`` consecutive indices shares its shape, colour
    and motion (drawn from the run's first index) and differs in everything else: hard negatives
    for instance contrast. ``siblings=1`` is the ordinary world, every event independent.
    Arguments are checked by ``OmniShapes.render``.
    """
    rng = CounterRNG(seed, index)
    group_rng = CounterRNG(seed, index // siblings)
    dev = index.device
    shape = group_rng.integers("shape", len(SHAPES))
    colour = group_rng.integers("colour", len(COLOURS))
    motion = group_rng.integers("motion", len(MOTIONS))
    size_cls = rng.integers("size", 2)
    speed_cls = rng.integers("speed", 2)
    radius = _lerp_table(SIZE_RANGES, size_cls, rng.uniform("radius"))
    speed = _lerp_table(SPEED_RANGES, speed_cls, rng.uniform("speed_value"))
    angle = (rng.uniform("angle") * 2.0 - 1.0) * MAX_ROTATION  # moderate, so shapes keep their usual look

    m = motion
    f32 = torch.float32
    is_ = lambda k: (m == MOTIONS.index(k)).to(f32)  # noqa: E731
    u_last = (frames - 1) / frames
    log_growth = (is_("grow") - is_("shrink")) * torch.log1p(0.25 + 0.30 * speed)
    widest = EXTENT * radius * torch.exp(log_growth.clamp(min=0.0) * u_last)
    look_rng = rng if look_seed == 0 else CounterRNG(int(seed) + (int(look_seed) << 40), index)
    look = sample_look(look_rng, varied, max_zoom=(ZOOMED_REACH / widest).clamp(min=1.0))
    radius_seen = radius * look.zoom
    room = (2.0 * FRAME_LIMIT - 2.0 * EXTENT * radius_seen) / u_last - 0.02  # longest path that fits
    travel = torch.minimum(0.75 * speed, room)
    velocity = torch.stack(((is_("right") - is_("left")) * travel, (is_("up") - is_("down")) * travel), dim=-1)
    hop_rate = is_("bounce") * (1.0 + speed)
    hop_height = is_("bounce") * (0.30 + 0.10 * speed)
    spin_sign = torch.where(rng.integers("spin_dir", 2) == 1, 1.0, -1.0)
    spin_rate = is_("spin") * spin_sign * (0.15 + 0.35 * speed)

    # Frame-0 position such that the whole clip stays inside the frame.
    s_max = radius_seen * torch.exp(log_growth.clamp(min=0.0) * u_last)
    reach = EXTENT * s_max
    disp = velocity * u_last
    dmin = disp.clamp(max=0.0)
    dmax = disp.clamp(min=0.0) + torch.stack((torch.zeros_like(hop_height), hop_height), dim=-1)
    lo = -FRAME_LIMIT + reach[:, None] - dmin
    hi = torch.maximum(FRAME_LIMIT - reach[:, None] - dmax, lo)
    position = lo + rng.uniform("position", 2) * (hi - lo)

    # Flash frames: 2..4 distinct frames among 1..T-1 (frame 0, the still image, never flashes).
    cand = frames - 1
    count = (2 + rng.integers("flash_count", 3)).clamp(max=cand)
    keys = rng.bits("flash_order", cand)
    rank = torch.argsort(torch.argsort(keys, dim=1, stable=True), dim=1, stable=True)
    flash = torch.zeros(index.shape[0], frames, dtype=torch.bool, device=dev)
    flash[:, 1:] = rank < count[:, None]

    rgb = torch.tensor(COLOUR_RGB, dtype=f32, device=dev)[colour]
    rgb = (rgb + 0.04 * (2.0 * rng.uniform("rgb_jitter", 3) - 1.0)).clamp(0.0, 1.0)
    bg_base = 0.07 + 0.09 * rng.uniform("bg_tint", 3)
    phi = rng.uniform("bg_dir") * (2.0 * math.pi)
    amp = 0.03 + 0.04 * rng.uniform("bg_amp")
    bg_grad = torch.stack((amp * torch.cos(phi), amp * torch.sin(phi)), dim=-1)

    return Events(
        seed=int(seed), index=index, rng=rng, frames=frames, shape=shape, colour=colour, motion=motion,
        size_cls=size_cls, speed_cls=speed_cls, radius=radius, speed=speed, position=position, angle=angle,
        velocity=velocity, hop_rate=hop_rate, hop_height=hop_height, spin_rate=spin_rate,
        log_growth=log_growth, flash=flash, rgb=rgb, bg_base=bg_base, bg_grad=bg_grad, look=look,
    )


def shape_groups(shape: torch.Tensor):
    """Events grouped by shape: list of (shape id, LongTensor of batch indices), non-empty only."""
    order = torch.argsort(shape, stable=True)
    counts = torch.bincount(shape, minlength=len(SHAPES)).tolist()
    groups, start = [], 0
    for g, c in enumerate(counts):
        if c:
            groups.append((g, order[start:start + c]))
        start += c
    return groups
