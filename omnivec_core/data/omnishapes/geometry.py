"""Signed distance functions of the 2D silhouettes and their matching 3D solids.

Object units: every shape fits in a radius of about 1 (``world.EXTENT``). 2D: x right,
y up. 3D: x right, y up, z towards the viewer; each solid seen head-on (along -z) shows
its silhouette: sphere/circle, cube/square, cone/triangle (apex up), torus/ring (axis
along z), octahedron/diamond, hexagonal prism/hexagon and cross prism/cross (extruded
along z), capsule/pill (axis along x). Some SDFs are bounds (exact inside and on faces,
conservative near edges), which is enough for sphere tracing and Newton projection;
the 2D ones are exact.
"""
from __future__ import annotations

import math

import torch

_S3 = math.sqrt(3.0) / 2.0
# Shape constants, shared by the 2D and 3D versions so silhouettes and solids agree.
SQUARE_HALF = 0.72
TRI_IN = 0.5  # inradius of the equilateral triangle (circumradius 1)
RING_R, RING_W = 0.70, 0.25
DIAMOND_W, DIAMOND_H = 0.72, 1.0
HEX_IN = 0.95 * _S3  # inradius of the hexagon (circumradius 0.95, pointy top)
CROSS_L, CROSS_W = 0.95, 0.32
PILL_L, PILL_R = 0.55, 0.42
CONE_BASE_Y, CONE_APEX_Y, CONE_BASE_R = -0.62, 0.95, 0.80
# Half-depth (z) of the extruded solids.
HEX_DEPTH, CROSS_DEPTH = 0.45, 0.35
SPHERE_R = 0.95
CUBE_HALF = SQUARE_HALF
# Half-extents of each solid's bounding box (x, y, z), used to seed surface sampling.
SOLID_BOX = (
    (SPHERE_R,) * 3,
    (CUBE_HALF,) * 3,
    (CONE_BASE_R, CONE_APEX_Y, CONE_BASE_R),
    (RING_R + RING_W, RING_R + RING_W, RING_W),
    (DIAMOND_W, DIAMOND_H, DIAMOND_W),
    (HEX_IN, 0.95, HEX_DEPTH),
    (CROSS_L, CROSS_L, CROSS_DEPTH),
    (PILL_L + PILL_R, PILL_R, PILL_R),
)


def _hex(x, y):
    """Regular hexagon, pointy top, as a bound: max over edge normals (0, 60, 120 degrees)."""
    ax = x.abs()
    return torch.maximum(ax, 0.5 * ax + _S3 * y.abs()) - HEX_IN


def _cross(x, y):
    """Cross as a bound: union of two bars, each a max of slabs."""
    ax, ay = x.abs(), y.abs()
    bar1 = torch.maximum(ax - CROSS_L, ay - CROSS_W)
    bar2 = torch.maximum(ax - CROSS_W, ay - CROSS_L)
    return torch.minimum(bar1, bar2)


def _box(ax, ay, hx: float, hy: float):
    """Exact SDF of a centred box with half-sizes (hx, hy), given |x| and |y|."""
    qx, qy = ax - hx, ay - hy
    outside = torch.sqrt(qx.clamp(min=0.0).square() + qy.clamp(min=0.0).square())
    return outside + torch.maximum(qx, qy).clamp(max=0.0)


def _signed_length(dx, dy, side):
    return torch.sqrt(dx * dx + dy * dy) * torch.sign(side)


def sdf2d(shape: int, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Exact signed distance (object units, negative inside) of silhouette ``shape`` at (x, y).

    Exact outside the shape (after I. Quilez's 2D distance functions), so anti-aliasing and
    the flash rim have the same width all around, corners included."""
    if shape == 0:  # circle
        return torch.sqrt(x * x + y * y) - 1.0
    ax, ay = x.abs(), y.abs()
    if shape == 1:  # square
        return _box(ax, ay, SQUARE_HALF, SQUARE_HALF)
    if shape == 2:  # equilateral triangle, apex up, circumradius 1, centred on its centroid
        k, r = math.sqrt(3.0), _S3  # r: half the side
        px, py = ax - r, y + TRI_IN
        fold = px + k * py > 0
        px, py = torch.where(fold, 0.5 * (px - k * py), px), torch.where(fold, -0.5 * (k * px + py), py)
        px = px - px.clamp(-2.0 * r, 0.0)
        return -_signed_length(px, py, py)
    if shape == 3:  # ring
        return (torch.sqrt(x * x + y * y) - RING_R).abs() - RING_W
    if shape == 4:  # diamond (rhombus)
        bx, by = DIAMOND_W, DIAMOND_H
        h = (((bx - 2.0 * ax) * bx - (by - 2.0 * ay) * by) / (bx * bx + by * by)).clamp(-1.0, 1.0)
        dx, dy = ax - 0.5 * bx * (1.0 - h), ay - 0.5 * by * (1.0 + h)
        return _signed_length(dx, dy, ax * by + ay * bx - bx * by)
    if shape == 5:  # hexagon, pointy top (vertical edges at |x| = HEX_IN)
        kx, ky, kz = -_S3, 0.5, 1.0 / math.sqrt(3.0)
        px, py = ay, ax
        m = (kx * px + ky * py).clamp(max=0.0) * 2.0
        px, py = px - m * kx, py - m * ky
        px = px - px.clamp(-kz * HEX_IN, kz * HEX_IN)
        py = py - HEX_IN
        return _signed_length(px, py, py)
    if shape == 6:  # cross: union of two bars
        return torch.minimum(_box(ax, ay, CROSS_L, CROSS_W), _box(ax, ay, CROSS_W, CROSS_L))
    if shape == 7:  # pill: capsule around a horizontal segment
        dx = ax - ax.clamp(max=PILL_L)
        return torch.sqrt(dx * dx + y * y) - PILL_R
    raise ValueError(f"unknown shape id {shape}")


_CONE_N = (CONE_APEX_Y - CONE_BASE_Y, CONE_BASE_R)
_CONE_K = math.hypot(*_CONE_N)


def sdf3d(shape: int, p: torch.Tensor) -> torch.Tensor:
    """Signed distance (bound) of solid ``shape`` at points ``p`` (..., 3)."""
    x, y, z = p.unbind(-1)
    if shape == 0:  # sphere
        return torch.linalg.vector_norm(p, dim=-1) - SPHERE_R
    if shape == 1:  # cube
        return torch.maximum(torch.maximum(x.abs(), y.abs()), z.abs()) - CUBE_HALF
    if shape == 2:  # cone, apex up, base at CONE_BASE_Y
        q = torch.sqrt(x * x + z * z)
        side = (_CONE_N[0] * q + _CONE_N[1] * (y - CONE_APEX_Y)) / _CONE_K
        return torch.maximum(side, CONE_BASE_Y - y)
    if shape == 3:  # torus, axis along z
        q = torch.sqrt(x * x + y * y) - RING_R
        return torch.sqrt(q * q + z * z) - RING_W
    if shape == 4:  # octahedron matching the diamond
        w = (x.abs() + z.abs()) * (1.0 / DIAMOND_W) + y.abs() * (1.0 / DIAMOND_H) - 1.0
        return w / math.sqrt(2.0 / DIAMOND_W**2 + 1.0 / DIAMOND_H**2)
    if shape == 5:  # hexagonal prism along z
        return torch.maximum(_hex(x, y), z.abs() - HEX_DEPTH)
    if shape == 6:  # cross prism along z
        return torch.maximum(_cross(x, y), z.abs() - CROSS_DEPTH)
    if shape == 7:  # capsule along x
        dx = x - x.clamp(-PILL_L, PILL_L)
        return torch.sqrt(dx * dx + y * y + z * z) - PILL_R
    raise ValueError(f"unknown shape id {shape}")


def rotation_z(angle: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations about z by ``angle`` (...)."""
    c, s = torch.cos(angle), torch.sin(angle)
    o, i = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack((c, -s, o, s, c, o, o, o, i), dim=-1).view(*angle.shape, 3, 3)


def rotation_y(angle: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotations about y (the vertical axis) by ``angle`` (...)."""
    c, s = torch.cos(angle), torch.sin(angle)
    o, i = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack((c, o, s, o, i, o, -s, o, c), dim=-1).view(*angle.shape, 3, 3)


def camera_tilt(device) -> torch.Tensor:
    """Fixed mild tilt of the depth camera: object top towards the viewer, a little yaw."""
    a, b = math.radians(24.0), math.radians(-22.0)
    rx = torch.tensor([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = torch.tensor([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    return (rx @ ry).to(device=device, dtype=torch.float32)
