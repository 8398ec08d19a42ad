"""Preview files for a few OmniShapes events: a contact sheet, GIFs, WAVs, PLYs, JSON.

The only module of the package that uses media libraries (PIL, soundfile), imported
lazily inside the functions so the renderer stays torch + numpy only.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ...modalities import AUDIO, CAPTIONS, DEPTH, IMAGE, POINTS, VIDEO
from . import COLOURS, MOTIONS, SHAPES, SIZES, SPEEDS, OmniShapes, OmniShapesConfig
from .geometry import camera_tilt
from .looks import describe_look
from .world import COLOUR_RGB, sample_events

CELL = 128  # contact sheet cell size in pixels
TEXT_W = 440  # width of the caption column
# A small perceptual colormap (approximately "magma"), as RGB stops in [0, 1].
_STOPS = np.array([[0.0, 0.0, 0.02], [0.23, 0.06, 0.44], [0.55, 0.16, 0.51], [0.87, 0.29, 0.41],
                   [0.99, 0.60, 0.37], [0.99, 0.99, 0.75]])


def colormap(x: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> uint8 RGB (..., 3)."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0) * (len(_STOPS) - 1)
    i = np.minimum(x.astype(int), len(_STOPS) - 2)
    f = (x - i)[..., None]
    return ((_STOPS[i] * (1 - f) + _STOPS[i + 1] * f) * 255).astype(np.uint8)


def _to_uint8(chw: np.ndarray) -> np.ndarray:
    return (np.clip(np.transpose(chw, (1, 2, 0)), 0, 1) * 255 + 0.5).astype(np.uint8)


def _cell(arr_hw3: np.ndarray):
    from PIL import Image

    return Image.fromarray(arr_hw3).resize((CELL, CELL), Image.NEAREST)


def _points_image(points: np.ndarray, labels: np.ndarray, rgb) -> np.ndarray:
    """A simple orthographic view of a point cloud, with the depth camera's tilt."""
    from PIL import Image, ImageDraw

    rot = camera_tilt("cpu").numpy()
    p = points @ rot.T
    img = Image.new("RGB", (CELL, CELL), (12, 12, 16))
    draw = ImageDraw.Draw(img)
    col_obj = np.array(rgb)
    for i in np.argsort(p[:, 2]):  # far to near
        x = (p[i, 0] + 1.1) / 2.2 * CELL
        y = (1.1 - p[i, 1]) / 2.2 * CELL
        shade = 0.55 + 0.45 * np.clip((p[i, 2] + 0.5), 0, 1)
        c = col_obj * shade if labels[i] > 0 else np.array([0.45, 0.45, 0.45]) * shade
        c = tuple(int(v * 255) for v in np.clip(c, 0, 1))
        draw.rectangle([x - 0.8, y - 0.8, x + 0.8, y + 0.8], fill=c)
    return np.asarray(img)


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # old Pillow
        return ImageFont.load_default()


def write_ply(path: Path, points: np.ndarray, labels: np.ndarray, rgb) -> None:
    """ASCII PLY with x, y, z, an RGB colour (object colour, grey ground) and the label."""
    cols = np.where(labels[:, None] > 0, (np.array(rgb) * 255).astype(int)[None], 110)
    lines = [
        "ply", "format ascii 1.0", "comment OmniShapes point cloud; label 0 = ground, 1+shape = object",
        f"element vertex {len(points)}", "property float x", "property float y", "property float z",
        "property uchar red", "property uchar green", "property uchar blue", "property int label", "end_header",
    ]
    lines += [f"{x:.5f} {y:.5f} {z:.5f} {r} {g} {b} {lab}" for (x, y, z), (r, g, b), lab in zip(points, cols, labels)]
    path.write_text("\n".join(lines) + "\n")


def write_preview(out_dir, seed: int = 0, n: int = 8, config: OmniShapesConfig | None = None, device="cpu") -> Path:
    """Render ``n`` events of ``seed`` and write the preview files into ``out_dir``."""
    import soundfile as sf
    from PIL import Image, ImageDraw

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    world = OmniShapes(config or OmniShapesConfig())
    cfg = world.config
    batch = world.render(n, seed=seed, device=device).to("cpu")
    t = cfg.frames
    show = sorted({0, t // 3, (2 * t) // 3, t - 1})
    titles = [IMAGE] + [f"frame {f}" for f in show] + ["log-mel", DEPTH, POINTS]
    header = 24
    width = CELL * len(titles) + TEXT_W
    sheet = Image.new("RGB", (width, header + n * CELL), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font, small = _font(15), _font(13)
    for j, title in enumerate(titles + ["event, first caption"]):
        draw.text((j * CELL + 6, 4), title, fill=(0, 0, 0), font=font)

    events = []
    for i in range(n):
        y0 = header + i * CELL
        labels = batch.labels_row(i)
        onsets = batch.params["onsets"][i].nonzero().flatten().tolist()
        video = batch[VIDEO][i].numpy()
        cells = [_cell(_to_uint8(batch[IMAGE][i].numpy()))]
        for f in show:
            c = _cell(_to_uint8(video[f]))
            if f in onsets:  # mark flash frames with a yellow border
                ImageDraw.Draw(c).rectangle([0, 0, CELL - 1, CELL - 1], outline=(255, 220, 0), width=3)
            cells.append(c)
        mel = batch[AUDIO][i, 0].numpy()[::-1]
        cells.append(_cell(colormap((mel + 2.0) / 5.0)))
        depth = batch[DEPTH][i, 0].numpy()
        cells.append(_cell(np.where(depth[..., None] > 0, colormap(depth), 0).astype(np.uint8)))
        obj_rgb = COLOUR_RGB[labels["colour"]]
        pts, plab = batch[POINTS][i].numpy(), batch.segments[POINTS][i].numpy()
        cells.append(Image.fromarray(_points_image(pts, plab, obj_rgb)))
        for j, c in enumerate(cells):
            sheet.paste(c, (j * CELL, y0))
        x_text = len(cells) * CELL + 8
        lines = [f"#{int(batch.index[i])}  {world.describe(labels)}", f"flash frames: {onsets}"]
        caption = batch[CAPTIONS][i][0]
        words, line = caption.split(), ""
        wrapped = []
        for w in words:
            if len(line) + len(w) + 1 > 44:
                wrapped.append(line)
                line = w
            else:
                line = f"{line} {w}".strip()
        wrapped.append(line)
        draw.text((x_text, y0 + 8), "\n".join(lines), fill=(0, 0, 0), font=small, spacing=4)
        draw.text((x_text, y0 + 52), "\n".join(f'"{s}' if k == 0 else s for k, s in enumerate(wrapped)) + '"',
                  fill=(30, 30, 140), font=font, spacing=4)

        stem = out / f"event_{i:03d}"
        frames = [Image.fromarray(_to_uint8(v)).resize((2 * cfg.image_size,) * 2, Image.NEAREST) for v in video]
        frames[0].save(stem.with_suffix(".gif"), save_all=True, append_images=frames[1:],
                       duration=int(1000 * cfg.duration_s / t), loop=0)
        sf.write(stem.with_suffix(".wav"), batch.waveform[i].numpy(), cfg.sample_rate, subtype="PCM_16")
        write_ply(stem.with_suffix(".ply"), pts, plab, obj_rgb)
        events.append({
            "index": int(batch.index[i]), "seed": seed,
            "attributes": {"shape": SHAPES[labels["shape"]], "colour": COLOURS[labels["colour"]],
                           "motion": MOTIONS[labels["motion"]], "size": SIZES[labels["size"]],
                           "speed": SPEEDS[labels["speed"]]},
            "labels": labels, "description": world.describe(labels),
            "size": round(float(batch.params["size"][i]), 4), "speed": round(float(batch.params["speed"][i]), 4),
            "position": [round(float(v), 4) for v in batch.params["position"][i]],
            "rotation": round(float(batch.params["rotation"][i]), 4), "flash_frames": onsets,
            "captions": batch[CAPTIONS][i],
            "files": {k: stem.with_suffix(s).name for k, s in ((VIDEO, ".gif"), (AUDIO, ".wav"), (POINTS, ".ply"))},
        })
    sheet.save(out / "contact_sheet.png", optimize=True)
    meta = {"seed": seed, "n": n, "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__}, "events": events}
    (out / "events.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def looks_sheet(world: OmniShapes, seed: int, index: int, looks: int = 6):
    """One event under ``looks`` looks, a column each (the plain world's first, then varied looks of look
    seeds 1, 2, ...): its picture, a late video frame, depth map and point cloud, the look named on top."""
    from PIL import Image, ImageDraw

    header, font = 46, _font(11)
    rows = (IMAGE, "frame", DEPTH, POINTS)
    sheet = Image.new("RGB", (looks * CELL, header + len(rows) * CELL), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for j in range(looks):
        share = 0.0 if j == 0 else 1.0
        batch = world.render(1, seed=seed, start=index, varied=share, look_seed=j,
                             modalities=(IMAGE, VIDEO, DEPTH, POINTS))
        look = sample_events(seed, batch.index, world.config.frames, 1, share, j).look
        depth = batch[DEPTH][0, 0].numpy()
        colour = COLOUR_RGB[int(batch.labels["colour"][0])]
        cells = [_cell(_to_uint8(batch[IMAGE][0].numpy())), _cell(_to_uint8(batch[VIDEO][0, -2].numpy())),
                 _cell(np.where(depth[..., None] > 0, colormap(depth), 0).astype(np.uint8)),
                 Image.fromarray(_points_image(batch[POINTS][0].numpy(), batch.segments[POINTS][0].numpy(), colour))]
        for r, cell in enumerate(cells):
            sheet.paste(cell, (j * CELL, header + r * CELL))
        words = describe_look(look, 0).split(", ")
        lines = "\n".join(", ".join(words[k:k + 2]) for k in range(0, min(len(words), 6), 2))
        draw.text((j * CELL + 4, 2), lines, fill=(0, 0, 0), font=font)
    return sheet
