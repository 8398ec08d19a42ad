"""python -m omnivec_app.make_examples: write the Retrieval tab's one-click examples to assets/examples from
held-out OmniShapes events: a clip with its sound track (MP4, H.264 + AAC), a sound, a picture,
a point cloud and an IMU trace (CSV)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from omnivec_core.data.omnishapes import OmniShapes
from omnivec_core.modalities import IMAGE, IMU, POINTS, VIDEO

from .inputs import ASSETS

EXAMPLE_SEED = 2024  # not a training, evaluation or gallery seed


def write_clip(path: Path, video: torch.Tensor, waveform: torch.Tensor, sample_rate: int, scale: int = 2) -> None:
    """(T, 3, H, W) frames over 1 s and a (S,) waveform -> an MP4 with a video and an AAC audio stream."""
    import av

    frames = (video.clamp(0, 1) * 255).byte().permute(0, 2, 3, 1).numpy()
    frames = frames.repeat(scale, axis=1).repeat(scale, axis=2)
    with av.open(str(path), "w") as container:
        picture = container.add_stream("libx264", rate=len(frames))
        picture.width, picture.height, picture.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        sound = container.add_stream("aac", rate=sample_rate)
        sound.layout = "mono"
        for frame in frames:
            container.mux(picture.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(picture.encode())
        samples = waveform.numpy().astype(np.float32)[None]
        chunk = 1024
        for start in range(0, samples.shape[1], chunk):
            block = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + chunk]), format="fltp",
                                               layout="mono")
            block.sample_rate, block.pts, block.time_base = sample_rate, start, Fraction(1, sample_rate)
            container.mux(sound.encode(block))
        container.mux(sound.encode())


def write_trace(path: Path, trace: torch.Tensor, rate: int) -> None:
    """(T, 6) IMU samples -> a CSV with a time column and the channels' names, as sensor loggers write."""
    rows = [f"{k / rate:.3f}," + ",".join(f"{v:.5f}" for v in sample) for k, sample in enumerate(trace.tolist())]
    path.write_text("time_s,ax,ay,az,gx,gy,gz\n" + "\n".join(rows) + "\n")


def main() -> None:
    import soundfile
    from PIL import Image

    folder = ASSETS / "examples"
    folder.mkdir(parents=True, exist_ok=True)
    world = OmniShapes()
    batch = world.render(5, seed=EXAMPLE_SEED)
    rate = world.config.sample_rate
    write_clip(folder / "clip.mp4", batch[VIDEO][0], batch.waveform[0], rate)
    soundfile.write(folder / "sound.wav", batch.waveform[1].numpy(), rate, subtype="PCM_16")
    Image.fromarray((batch[IMAGE][2] * 255).byte().permute(1, 2, 0).numpy()).resize((128, 128)).save(folder / "picture.png")
    xyz = batch[POINTS][3].numpy()
    header = f"ply\nformat ascii 1.0\nelement vertex {len(xyz)}\nproperty float x\nproperty float y\nproperty float z\nend_header\n"
    (folder / "shape.ply").write_text(header + "\n".join(f"{x:.5f} {y:.5f} {z:.5f}" for x, y, z in xyz) + "\n")
    write_trace(folder / "motion.csv", batch[IMU][4], world.config.imu_rate)
    for i, name in enumerate(("clip.mp4", "sound.wav", "picture.png", "shape.ply", "motion.csv")):
        print(f"{folder / name}: {world.describe(batch.labels_row(i))}")


if __name__ == "__main__":
    main()
