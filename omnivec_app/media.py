"""Tensors -> things a browser shows: PIL images, animated GIFs, WAV arrays, plotly figures."""
from __future__ import annotations

import io
import tempfile
import uuid
import wave
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_pil(image: torch.Tensor, scale: int = 4) -> Image.Image:
    """(3, H, W) or (1, H, W) in [0, 1] -> an enlarged PIL image (nearest, so patches stay crisp)."""
    array = (image.clamp(0, 1) * 255).byte().permute(1, 2, 0).cpu().numpy()
    if array.shape[2] == 1:
        array = array[:, :, 0]
    picture = Image.fromarray(array)
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)


def heat_map(values: torch.Tensor, scale: int = 4) -> Image.Image:
    """(H, W) any range -> a colour heat map (viridis-like ramp), nearer/larger = brighter."""
    v = values.float()
    v = (v - v.min()) / (v.max() - v.min()).clamp(min=1e-6)
    ramp = torch.tensor([[0.27, 0.00, 0.33], [0.23, 0.32, 0.55], [0.13, 0.57, 0.55],
                         [0.37, 0.79, 0.38], [0.99, 0.91, 0.14]])
    position = v * (len(ramp) - 1)
    low = position.floor().long().clamp(max=len(ramp) - 2)
    frac = (position - low).unsqueeze(-1)
    rgb = ramp[low] * (1 - frac) + ramp[low + 1] * frac  # (H, W, 3)
    return to_pil(rgb.permute(2, 0, 1), scale)


def write_gif(video: torch.Tensor, folder: Path, name: str, scale: int = 4, fps: int = 8) -> str:
    """(T, 3, H, W) -> path of a looping GIF in `folder`."""
    # fast octree palettes: PIL's default median-cut quantiser takes most of the time of a GIF
    frames = [to_pil(frame, scale).quantize(colors=128, method=Image.Quantize.FASTOCTREE) for frame in video]
    path = Path(folder) / f"{name}-{uuid.uuid4().hex[:8]}.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    return str(path)


def audio_value(waveform: torch.Tensor, sample_rate: int) -> tuple[int, np.ndarray]:
    """(S,) in [-1, 1] -> the (rate, int16 array) a gr.Audio shows."""
    return sample_rate, (waveform.clamp(-1, 1) * 32767).short().cpu().numpy()


def wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """(S,) int16 samples -> the bytes of a 16-bit mono WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def write_wav(waveform: torch.Tensor, sample_rate: int, path: Path) -> str:
    """(S,) in [-1, 1] -> a 16-bit mono WAV file at `path` (written once, then served as a file)."""
    Path(path).write_bytes(wav_bytes(audio_value(waveform, sample_rate)[1], sample_rate))
    return str(path)


def point_figure(points: torch.Tensor, labels: torch.Tensor, title: str = ""):
    """(N, 3) points coloured by label -> a rotatable plotly 3D scatter."""
    import plotly.graph_objects as go

    xyz = points.cpu().numpy()
    figure = go.Figure(go.Scatter3d(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], mode="markers",
                                    marker=dict(size=2, color=labels.cpu().numpy(), colorscale="Turbo")))
    figure.update_layout(title=title, margin=dict(l=0, r=0, t=30, b=0), height=360,
                         scene=dict(aspectmode="data"))
    return figure


def scratch_folder() -> Path:
    """A private temp folder for media handed to the browser (Gradio serves it from there)."""
    return Path(tempfile.mkdtemp(prefix="omnivec-"))


def line_figure(xs, ys, x_title: str, y_title: str, title: str = ""):
    import plotly.graph_objects as go

    figure = go.Figure(go.Scatter(x=list(xs), y=list(ys), mode="lines+markers"))
    figure.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=300,
                         margin=dict(l=40, r=10, t=40, b=40))
    return figure


def points_thumbnail(points: torch.Tensor, labels: torch.Tensor, size: int = 192) -> Image.Image:
    """(N, 3) points -> a small picture (seen from a fixed oblique angle, coloured by label), for galleries."""
    angle = np.deg2rad(30)
    rotate = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    xyz = points.cpu().numpy() @ rotate.T
    span = np.abs(xyz[:, :2]).max() or 1.0
    pixels = ((xyz[:, :2] / span * 0.45 + 0.5) * (size - 1)).astype(int)
    canvas = np.full((size, size, 3), 245, dtype=np.uint8)
    colours = np.array([[150, 150, 150], [230, 25, 75], [245, 130, 49], [60, 180, 75], [67, 99, 216],
                        [145, 30, 180], [66, 212, 244], [240, 50, 230], [170, 110, 40]], dtype=np.uint8)
    order = np.argsort(xyz[:, 2])  # far points first, near points drawn over them
    for (x, y), label in zip(pixels[order], labels.cpu().numpy()[order]):
        canvas[size - 1 - y - 1:size - 1 - y + 1, x - 1:x + 1] = colours[int(label) % len(colours)]
    return Image.fromarray(canvas)


TRACE_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4")


def trace_figure(trace: torch.Tensor, rate: float, channels: tuple[str, ...], title: str = ""):
    """(T, C) channels over time -> plotly lines, time in seconds; channels that share a unit (the
    "(g)" in "ax (g)") share a subplot, so acceleration and angular velocity each get their own axis."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    values = trace.float().cpu().numpy()
    seconds = np.arange(len(values)) / rate
    names = channels or tuple(f"channel {c}" for c in range(values.shape[1]))
    units = list(dict.fromkeys(name.partition("(")[2].rstrip(")") for name in names))
    figure = make_subplots(rows=len(units), cols=1, shared_xaxes=True, vertical_spacing=0.08)
    for c, name in enumerate(names):
        figure.add_trace(go.Scatter(x=seconds, y=values[:, c], name=name, mode="lines",
                                    line=dict(color=TRACE_COLOURS[c % len(TRACE_COLOURS)], width=1.5)),
                         row=1 + units.index(name.partition("(")[2].rstrip(")")), col=1)
    for row, unit in enumerate(units, start=1):
        figure.update_yaxes(title_text=unit or "value", row=row, col=1)
    figure.update_xaxes(title_text="time (s)", row=len(units), col=1)
    figure.update_layout(title=title, height=340, margin=dict(l=50, r=10, t=40, b=40))
    return figure


def trace_thumbnail(trace: torch.Tensor, size: int = 192) -> Image.Image:
    """(T, C) channels over time -> a small picture of its lines (each channel scaled on its own), for galleries."""
    from PIL import ImageDraw

    values = trace.float().cpu().numpy()
    canvas = Image.new("RGB", (size, size), (250, 250, 250))
    draw = ImageDraw.Draw(canvas)
    xs = np.linspace(4, size - 5, len(values))
    for c in range(values.shape[1]):
        column = values[:, c]
        span = np.abs(column).max() or 1.0
        ys = size / 2 - column / span * (size / 2 - 6)
        draw.line(list(zip(xs.tolist(), ys.tolist())), fill=TRACE_COLOURS[c % len(TRACE_COLOURS)], width=1)
    return canvas


CLASS_COLOURS = ((0, 0, 0), (230, 25, 75), (245, 130, 49), (255, 225, 25), (60, 180, 75), (66, 212, 244),
                 (67, 99, 216), (145, 30, 180), (240, 50, 230))


def class_overlay(picture: Image.Image, classes: torch.Tensor, count: int, alpha: float = 0.55) -> Image.Image:
    """Class ids (H, W), 0 = background, blended over an (enlarged) picture in one colour per class."""
    palette = np.array([CLASS_COLOURS[c % len(CLASS_COLOURS)] for c in range(count)], dtype=np.float32)
    ids = np.asarray(Image.fromarray(classes.byte().numpy()).resize(picture.size, Image.NEAREST))
    base = np.asarray(picture.convert("RGB"), dtype=np.float32)
    shade = alpha * (ids > 0)[..., None]
    return Image.fromarray((base * (1 - shade) + palette[ids] * shade).astype(np.uint8))


def with_grid(picture: Image.Image, cells: int, colour=(255, 255, 255)) -> Image.Image:
    """Draw a cells x cells patch grid over a picture (how a patch stem cuts it)."""
    from PIL import ImageDraw

    picture = picture.convert("RGB")
    draw = ImageDraw.Draw(picture)
    for i in range(1, cells):
        x = round(i * picture.width / cells)
        y = round(i * picture.height / cells)
        draw.line([(x, 0), (x, picture.height)], fill=colour, width=1)
        draw.line([(0, y), (picture.width, y)], fill=colour, width=1)
    return picture


def tubelet_sheet(video: torch.Tensor, tubelet: int, cells: int, scale: int = 2) -> Image.Image:
    """(T, 3, H, W) -> one picture: a column per tubelet, its frames stacked, each with the patch grid."""
    columns = video.shape[0] // tubelet
    tiles = [[with_grid(to_pil(video[c * tubelet + r], scale), cells) for r in range(tubelet)] for c in range(columns)]
    width, height = tiles[0][0].size
    sheet = Image.new("RGB", (columns * (width + 6), tubelet * (height + 6)), (255, 255, 255))
    for c, column in enumerate(tiles):
        for r, tile in enumerate(column):
            sheet.paste(tile, (c * (width + 6), r * (height + 6)))
    return sheet
