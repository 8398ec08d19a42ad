"""Point clouds: points spread evenly over each event's solid (drawn near its surface, then Newton-projected
onto its SDF) plus a ground plane under it, posed in scene coordinates (x right, y up, z towards the
viewer), then centred and scaled as every reader's cloud is."""
from __future__ import annotations

import torch

from ...modalities.points import normalize_cloud
from .geometry import SOLID_BOX, rotation_y, rotation_z, sdf3d
from .world import Events, shape_groups

NEWTON_STEPS = 5
JITTER = 0.005  # scene units
GROUND_HALF = 1.4  # ground patch half-size, in object radii
GROUND_DROP = 1.1  # ground height below the object centre, in object radii
SHELL = 0.06  # thickness of the skin inside a solid's surface that its points are drawn from, object units
CANDIDATES = 24  # candidates drawn per surface point: at least 1.4 of them lie in the skin for every solid
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


def _surface(ev: Events, n: int) -> torch.Tensor:
    """(B, n, 3) points on each event's solid in object units (frame-0 pose not yet applied), spread evenly by
    area as a mesh reader's surface sampling spreads them: candidates drawn uniformly in the solid's box, the
    first n inside the solid within SHELL of its surface, projected onto it. A skin of even thickness holds a
    share of candidates proportional to the area over it; projecting points drawn anywhere in the box would
    crowd them where the solid's bulk is (a cube's face centres), a look no mesh file has. The skin is inside
    only: from outside an edge, Newton steps on a max-of-planes distance can leave the surface."""
    box = torch.tensor(SOLID_BOX, device=ev.radius.device)[ev.shape]  # (B, 3)
    candidates = (ev.rng.uniform("pt_shell", n * CANDIDATES, 3) * 2.0 - 1.0) * box[:, None, :]  # (B, K, 3)
    distance = torch.empty(candidates.shape[:2], device=candidates.device)  # (B, K)
    for g, idx in shape_groups(ev.shape):
        distance[idx] = sdf3d(g, candidates[idx])
    in_skin = (distance <= 0) & (distance > -SHELL)
    near_first = torch.argsort((~in_skin).to(torch.uint8), dim=1, stable=True)[:, :n]  # (B, n), in draw order
    p = torch.gather(candidates, 1, near_first[..., None].expand(-1, -1, 3))
    for g, idx in shape_groups(ev.shape):
        p[idx] = project_to_surface(g, p[idx].reshape(-1, 3)).view(-1, n, 3)
    return p


def _thinned(ev: Events, n: int) -> torch.Tensor:
    """(B, n) indices into n surface points: a varied look keeps only its first `surface_points` of them and
    fills the cloud by drawing again among those, as a reader fills a small cloud."""
    keep = torch.where(ev.look.surface_points > 0, ev.look.surface_points, float(n)).clamp(max=n).long()
    slot = torch.arange(n, device=keep.device)[None, :]
    again = (ev.rng.uniform("pt_refill", n) * keep[:, None]).long()
    return torch.where(slot < keep[:, None], slot, again)


def sample_points(ev: Events, n_points: int, ground_fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N, 3) points and (B, N) labels (0 ground, 1+shape on the object), frame-0 pose, shuffled per
    event, in the readers' frame (``normalize_cloud``: centred, farthest point at 1). A cloud without a
    ground plane (a varied look's choice) has all N points on its solid."""
    dev = ev.radius.device
    b = len(ev)
    n_ground = int(round(n_points * ground_fraction))
    rng = ev.rng
    grounded = bool(ev.look.ground.all())
    n_surface = n_points - n_ground if grounded else n_points  # every counter stream gives a prefix of itself
    p = _surface(ev, n_surface)
    p = torch.gather(p, 1, _thinned(ev, n_surface)[..., None].expand(-1, -1, 3)) * ev.look.stretch[:, None, :]
    p = p + (ev.look.point_jitter[:, None, None] * (rng.uniform("pt_look_jitter", n_surface, 3) * 2.0 - 1.0))
    turn = ev.look.tumble @ rotation_y(ev.look.yaw) @ rotation_z(ev.angle)  # (B, 3, 3)

    s = ev.radius[:, None, None]
    centre = torch.cat((ev.position, torch.zeros(b, 1, device=dev)), 1)[:, None, :]
    obj = torch.matmul(p, turn.transpose(1, 2)) * s + centre

    gu = rng.uniform("pt_ground", n_ground, 2) * 2.0 - 1.0
    gx = centre[..., 0] + GROUND_HALF * s[..., 0] * gu[..., 0]
    gz = GROUND_HALF * s[..., 0] * gu[..., 1]
    gy = (centre[..., 1] - GROUND_DROP * s[..., 0]).expand_as(gx)
    ground = torch.stack((gx, gy, gz), -1)
    with_ground = ev.look.ground[:, None, None]
    tail = ground if grounded else torch.where(with_ground, ground, obj[:, n_points - n_ground:])

    pts = torch.cat((obj[:, :n_points - n_ground], tail), 1)
    shape_label = (ev.shape + 1)[:, None]
    labels = torch.cat((shape_label.expand(b, n_points - n_ground),
                        torch.where(with_ground[..., 0], 0, shape_label).expand(b, n_ground)), 1)
    pts = pts + JITTER * (rng.uniform("pt_jitter", n_points, 3) * 2.0 - 1.0)
    order = torch.argsort(rng.bits("pt_order", n_points), dim=1, stable=True)
    pts = torch.gather(pts, 1, order[..., None].expand(-1, -1, 3))
    return normalize_cloud(pts), torch.gather(labels, 1, order)
