"""Tensors -> things a browser shows: PIL images, animated GIFs, WAV arrays, plotly figures."""
from __future__ import annotations

import tempfile
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
    frames = [to_pil(frame, scale) for frame in video]
    path = Path(folder) / f"{name}.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    return str(path)


def audio_value(waveform: torch.Tensor, sample_rate: int) -> tuple[int, np.ndarray]:
    """(S,) in [-1, 1] -> the (rate, int16 array) a gr.Audio shows."""
    return sample_rate, (waveform.clamp(-1, 1) * 32767).short().cpu().numpy()


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
