"""Pixels: video frames (and the still image), depth maps and their masks, batched in torch."""
from __future__ import annotations

import torch

from .camera import varied_background
from .geometry import camera_tilt, rotation_y, rotation_z, sdf2d, sdf3d
from .looks import OUTLINES, PLAIN, STYLES, looks_of
from .world import Events, shape_groups

BOUND_R = 1.12  # bounding sphere of every solid (object units)
CAMERA_Z = 2.0  # orthographic camera plane (scene units, z towards the viewer)
HALO_PX = 2.0  # width of the white rim drawn around the object on flash frames
SHADE = 0.15  # strength of the shading gradient across the object (makes spin visible)
FLASH_WHITE = 0.5  # how far flash frames blend the object colour towards white


def pixel_grid(size: int, device):
    """Pixel-centre coordinates: xs (W,) left to right in [-1, 1], ys (H,) top to bottom (y up)."""
    c = (torch.arange(size, device=device, dtype=torch.float32) * 2.0 + 1.0) / size - 1.0
    return c, -c


def background(ev: Events, size: int) -> torch.Tensor:
    """(B, 3, H, W): the plain world's dark, slightly tinted background with a mild linear gradient, or a
    varied look's own."""
    xs, ys = pixel_grid(size, ev.radius.device)
    ramp = ev.bg_grad[:, 0, None, None] * xs[None, None, :] + ev.bg_grad[:, 1, None, None] * ys[None, :, None]
    dark = (ev.bg_base[:, :, None, None] + ramp[:, None]).clamp_(0.0, 1.0)
    rows = (ev.look.background != PLAIN).nonzero().flatten()  # only those events draw a varied background
    if rows.numel():
        dark[rows] = varied_background(looks_of(ev.look, rows), ev.rng.rows(rows), xs, ys)
    return dark


def _style_weights(ev: Events, dist: torch.Tensor, shade: torch.Tensor):
    """Per-pixel weights of the object's colour and of its outline colour (B, F, H, W) from the signed
    distance in pixels and the shading gradient, by each event's style."""
    look = ev.look
    per_event = lambda t: t[:, None, None, None]  # noqa: E731
    cov = (0.5 - dist).clamp(0.0, 1.0)
    half = per_event(look.stroke_px) * 0.5
    stroke = (half + 0.5 - dist.abs()).clamp(0.0, 1.0)
    style = per_event(look.style)
    drawn = torch.where(style == STYLES.index("stroke"), stroke, cov)
    lit = torch.where(style == STYLES.index("shaded"), shade, torch.ones_like(shade))
    rim = cov - (0.5 - dist - half).clamp(0.0, 1.0)  # a band half the stroke's width inside the edge
    rim = torch.where((per_event(look.outline) > 0) & (style != STYLES.index("stroke")), rim, torch.zeros_like(rim))
    return drawn, (drawn - rim) * lit, rim


def _outline_rgb(ev: Events) -> torch.Tensor:
    """(B, 3) colour of each event's outline: near black, or a darker shade of its own colour."""
    black = torch.full_like(ev.rgb, 0.06)
    return torch.where((ev.look.outline == OUTLINES.index("darker"))[:, None], 0.45 * ev.rgb, black)


def render_frames(ev: Events, size: int, frame_ids) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames ``frame_ids`` of each event's clip: (B, F, 3, H, W) in [0, 1], and the
    object coverage (B, F, H, W) in [0, 1] (anti-aliased over one pixel)."""
    dev = ev.radius.device
    b, f = len(ev), len(frame_ids)
    fid = torch.as_tensor(list(frame_ids), device=dev, dtype=torch.long)
    centre, scale, angle = ev.trajectory(fid.to(torch.float32) / ev.frames)
    xs, ys = pixel_grid(size, dev)
    inv = 1.0 / scale
    c, s = torch.cos(angle) * inv, torch.sin(angle) * inv  # (B, F)
    dx = xs[None, None, :] - centre[..., 0:1]  # (B, F, W)
    dy = ys[None, None, :] - centre[..., 1:2]  # (B, F, H)
    # Object coordinates: ox = c*dx + s*dy, oy = -s*dx + c*dy, as sums of two broadcasts, each divided by the
    # look's stretch of that axis.
    sx, sy = (1.0 / ev.look.stretch[:, 0])[:, None, None], (1.0 / ev.look.stretch[:, 1])[:, None, None]
    ax, bx = (c[..., None] * dx * sx)[:, :, None, :], (s[..., None] * dy * sx)[:, :, :, None]
    ay, by = (-s[..., None] * dx * sy)[:, :, None, :], (c[..., None] * dy * sy)[:, :, :, None]
    stretch = ev.look.stretch[:, :2].prod(1).sqrt()[:, None]  # distances in pixels, near enough when stretched
    px_per_unit = (scale * stretch * (size / 2.0))[..., None, None]

    dist = torch.empty(b, f, size, size, device=dev)  # signed distance in pixels
    for g, idx in shape_groups(ev.shape):  # each event evaluates only its own shape's SDF
        if idx.shape[0] == b:
            dist = sdf2d(g, ax + bx, ay + by).mul_(px_per_unit)
        else:
            dist[idx] = sdf2d(g, ax[idx] + bx[idx], ay[idx] + by[idx]).mul_(px_per_unit[idx])
    ox_all = ax + bx  # object x coordinate, for the shading gradient

    shade = ox_all.clamp_(-1.0, 1.0).mul_(SHADE).add_(1.0 - SHADE)
    cov, w_col, w_rim = _style_weights(ev, dist, shade)
    flash = ev.flash[:, fid].to(torch.float32)
    halo = (HALO_PX + 0.5 - dist).clamp_(0.0, 1.0).mul_(flash[..., None, None])
    stroked = (ev.look.style == STYLES.index("stroke"))[:, None, None, None]
    halo = torch.where(stroked, halo * (0.5 + dist).clamp(0.0, 1.0), halo)  # a stroke's inside stays background
    inv_cov = 1.0 - cov
    w_white = halo.mul_(inv_cov)  # white rim layer, under the object
    w_bg = inv_cov.sub_(w_white)  # (1 - halo) * (1 - cov)
    rgb = (ev.rgb * ev.look.brightness[:, None]).clamp(0.0, 1.0)[:, None, :]
    col = torch.where(flash[..., None] > 0, rgb * (1.0 - FLASH_WHITE) + FLASH_WHITE, rgb)  # (B, F, 3)
    video = torch.addcmul(w_white[:, :, None], background(ev, size)[:, None], w_bg[:, :, None])
    video.addcmul_(col[..., None, None], w_col[:, :, None])
    video.addcmul_(_outline_rgb(ev)[:, None, :, None, None], w_rim[:, :, None])
    return video, cov


def render_depth(ev: Events, size: int, steps: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """Orthographic depth of each event's solid at its frame-0 pose, seen with a fixed tilt.

    Sphere tracing with a fixed step count, only for rays that hit the solid's bounding
    sphere, grouped per shape so each ray evaluates only its own SDF. Returns depth
    (B, 1, H, W) in [0, 1] (0 = background, nearer = larger) and mask (B, H, W) 0/1+shape.
    """
    dev = ev.radius.device
    b = len(ev)
    xs, ys = pixel_grid(size, dev)
    m = camera_tilt(dev) @ rotation_y(ev.look.yaw) @ rotation_z(ev.angle)  # (B, 3, 3) object -> camera rotation
    mt = m.transpose(1, 2)
    inv_s = (1.0 / ev.visual_radius)[:, None]
    e0, e1, e2 = mt[:, :, 0] * inv_s, mt[:, :, 1] * inv_s, mt[:, :, 2] * inv_s  # (B, 3)
    direction = -mt[:, :, 2]  # unit ray direction in object space
    ex = (xs[None, :] - ev.position[:, 0:1])[:, :, None] * e0[:, None, :]  # (B, W, 3)
    ey = (ys[None, :] - ev.position[:, 1:2])[:, :, None] * e1[:, None, :]  # (B, H, 3)
    origin = ey[:, :, None, :] + ex[:, None, :, :] + (CAMERA_Z * e2)[:, None, None, :]  # (B, H, W, 3)

    tc = -(origin * direction[:, None, None, :]).sum(-1)  # closest approach to the centre
    r2 = (origin * origin).sum(-1) - tc * tc
    inside = r2 < BOUND_R * BOUND_R
    bi, ii, ji = inside.nonzero(as_tuple=True)
    ray_shape = ev.shape[bi]
    order = torch.argsort(ray_shape, stable=True)
    bi, ii, ji = bi[order], ii[order], ji[order]
    half = torch.sqrt((BOUND_R * BOUND_R - r2[bi, ii, ji]).clamp(min=0.0))
    t = tc[bi, ii, ji] - half
    t_exit = t + 2.0 * half
    o = origin[bi, ii, ji]
    d = direction[bi]
    dist = torch.empty_like(t)
    start = 0
    for g, n in enumerate(torch.bincount(ray_shape, minlength=8).tolist()):
        if n == 0:
            continue
        sl = slice(start, start + n)
        start += n
        o_g, d_g, t_g = o[sl], d[sl], t[sl]
        for _ in range(steps):
            step = sdf3d(g, torch.addcmul(o_g, t_g[:, None], d_g))
            t_g.add_(step)
        dist[sl] = sdf3d(g, torch.addcmul(o_g, t_g[:, None], d_g))
    hit = (dist.abs() < 0.01) & (t <= t_exit)
    z_cam = CAMERA_Z - t * ev.visual_radius[bi]
    value = (0.5 + z_cam).clamp(0.02, 1.0)
    flat = (bi * size + ii) * size + ji
    depth = torch.zeros(b * size * size, device=dev)
    mask = torch.zeros(b * size * size, device=dev, dtype=torch.long)
    depth[flat[hit]] = value[hit]
    mask[flat[hit]] = ev.shape[bi[hit]] + 1
    return depth.view(b, 1, size, size), mask.view(b, size, size)
