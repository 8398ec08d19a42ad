"""Point clouds: points on each event's solid (Newton projection onto its SDF) plus a
ground plane under it, in scene coordinates (x right, y up, z towards the viewer)."""
from __future__ import annotations

import torch

from .geometry import SOLID_BOX, rotation_z, sdf3d
from .world import Events, shape_groups

NEWTON_STEPS = 5
JITTER = 0.005  # scene units
GROUND_HALF = 1.4  # ground patch half-size, in object radii
GROUND_DROP = 1.1  # ground height below the object centre, in object radii
_TETRA = ((1.0, -1.0, -1.0), (-1.0, -1.0, 1.0), (-1.0, 1.0, -1.0), (1.0, 1.0, 1.0))


def project_to_surface(shape: int, p: torch.Tensor, steps: int = NEWTON_STEPS, h: float = 1e-3) -> torch.Tensor:
    """Move points p (M, 3) onto the zero level set of solid ``shape`` by Newton steps,
    the gradient from four SDF samples on a tetrahedron."""
    k = torch.tensor(_TETRA, device=p.device, dtype=p.dtype)
    for _ in range(steps):
        vals = sdf3d(shape, p[:, None, :] + h * k)  # (M, 4)
        f = vals.mean(1, keepdim=True)
        grad = vals @ k  # 4 h * gradient
        p = p - grad * (f * (4.0 * h) / (grad * grad).sum(1, keepdim=True).clamp(min=1e-12))
    return p


def sample_points(ev: Events, n_points: int, ground_fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N, 3) points and (B, N) labels (0 ground, 1+shape on the object), frame-0 pose,
    shuffled per event."""
    dev = ev.radius.device
    b = len(ev)
    n_ground = int(round(n_points * ground_fraction))
    n_obj = n_points - n_ground
    rng = ev.rng
    box = torch.tensor(SOLID_BOX, device=dev)[ev.shape]
    p = (rng.uniform("pt_init", n_obj, 3) * 2.0 - 1.0) * box[:, None, :]
    for g, idx in shape_groups(ev.shape):
        p[idx] = project_to_surface(g, p[idx].reshape(-1, 3)).view(-1, n_obj, 3)

    s = ev.radius[:, None, None]
    centre = torch.cat((ev.position, torch.zeros(b, 1, device=dev)), 1)[:, None, :]
    obj = torch.matmul(p, rotation_z(ev.angle).transpose(1, 2)) * s + centre

    gu = rng.uniform("pt_ground", n_ground, 2) * 2.0 - 1.0
    gx = centre[..., 0] + GROUND_HALF * s[..., 0] * gu[..., 0]
    gz = GROUND_HALF * s[..., 0] * gu[..., 1]
    gy = (centre[..., 1] - GROUND_DROP * s[..., 0]).expand_as(gx)
    ground = torch.stack((gx, gy, gz), -1)

    pts = torch.cat((obj, ground), 1)
    labels = torch.cat(((ev.shape + 1)[:, None].expand(b, n_obj), torch.zeros(b, n_ground, dtype=torch.long, device=dev)), 1)
    pts = pts + JITTER * (rng.uniform("pt_jitter", n_points, 3) * 2.0 - 1.0)
    order = torch.argsort(rng.bits("pt_order", n_points), dim=1, stable=True)
    return torch.gather(pts, 1, order[..., None].expand(-1, -1, 3)), torch.gather(labels, 1, order)
