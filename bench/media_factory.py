"""Helpers that write small, real media files (and broken ones) for tests.

Every maker takes the path to write and returns it as a Path. Good inputs: ``make_png``,
``make_jpg``, ``make_wav``, ``make_mp4_with_aac`` (``audio=False`` for a silent-film mp4),
``make_m4a``, ``make_ply``, ``make_obj_mesh``, ``make_xyz``, ``make_npy``, ``make_imu_csv``,
``make_imu_npy`` (IMU traces of the known signal ``imu_signal``). Broken inputs:
the ``make_*`` functions after "broken inputs" below. Deterministic: fixed seeds.
"""
from __future__ import annotations

import math
import pathlib
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------- good inputs


def _picture(w: int, h: int, t: float = 0.0) -> np.ndarray:
    """(h, w, 3) uint8: a colour gradient with a red square whose position depends on t."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // max(1, w - 1), y * 255 // max(1, h - 1), np.full_like(x, 96)], -1).astype(np.uint8)
    s = max(4, min(w, h) // 4)
    x0 = int((w - s) * (0.5 + 0.45 * math.sin(2 * math.pi * t)))
    y0 = (h - s) // 2
    img[y0:y0 + s, x0:x0 + s] = (230, 30, 30)
    return img


def make_png(path, size=(96, 80), noise: bool = False) -> Path:
    from PIL import Image

    w, h = size
    img = _picture(w, h)
    if noise:  # incompressible: makes the file large enough for size-limit tests
        img = (img.astype(np.int16) + np.random.default_rng(0).integers(-20, 20, img.shape)).clip(0, 255)
    Image.fromarray(img.astype(np.uint8), "RGB").save(path, format="PNG")
    return Path(path)


def make_jpg(path, size=(120, 90)) -> Path:
    from PIL import Image

    Image.fromarray(_picture(*size), "RGB").save(path, format="JPEG", quality=90)
    return Path(path)


def _tone(seconds: float, sr: int, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    """A tone with a short click every 0.25 s, float32 (n,)."""
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    y = amplitude * 0.7 * np.sin(2 * np.pi * freq * t)
    clicks = (np.mod(t, 0.25) < 0.004).astype(np.float64)
    y = y + amplitude * 0.3 * clicks * np.sign(np.sin(2 * np.pi * 3000 * t))
    return y.astype(np.float32)


def make_wav(path, seconds: float = 1.0, sr: int = 16000, channels: int = 1, amplitude: float = 0.5,
             subtype: str = "PCM_16", freq: float = 440.0) -> Path:
    import soundfile as sf

    y = _tone(seconds, sr, freq, amplitude)
    if channels > 1:
        y = np.stack([y * (1.0 - 0.3 * c / channels) for c in range(channels)], axis=1)
    sf.write(str(path), y, sr, subtype=subtype, format="WAV")
    return Path(path)


def _video_codec():
    import av

    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def make_mp4_with_aac(path, seconds: float = 2.0, fps: int = 24, size=(96, 64), audio: bool = True,
                      sr: int = 44100, faststart: bool = False) -> Path:
    """An MP4 with a moving red square (h264, or mpeg4 without libx264) and, when ``audio``,
    an AAC track: a 440 Hz tone with clicks. ``faststart`` puts the index first."""
    import av

    w, h = size
    opts = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), mode="w", format="mp4", options=opts) as c:
        vs = c.add_stream(_video_codec(), rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        if vs.codec_context.name == "libx264":
            vs.options = {"preset": "ultrafast", "threads": "1"}
        streams = [vs]
        if audio:
            st = c.add_stream("aac", rate=sr)
            st.layout = "stereo"
            streams.append(st)
        nframes = int(round(seconds * fps))
        for i in range(nframes):
            frame = av.VideoFrame.from_ndarray(_picture(w, h, i / fps / seconds), format="rgb24")
            for pkt in vs.encode(frame):
                c.mux(pkt)
        for pkt in vs.encode():
            c.mux(pkt)
        if audio:
            _encode_audio(c, st, _tone(seconds, sr), sr)
    return Path(path)


def make_square_clip(path, colour=(230, 30, 30), direction: str = "right", seconds: float = 1.0, fps: int = 25,
                     size: int = 128) -> Path:
    """An MP4 drawn here, not by OmniShapes: a square of `colour` crossing a black frame (`direction`
    right, left, up or down) over `seconds`, with a 440 Hz tone (h264 or mpeg4, AAC)."""
    import av

    step = {"right": (1, 0), "left": (-1, 0), "up": (0, -1), "down": (0, 1)}[direction]
    side = size // 5
    with av.open(str(path), mode="w", format="mp4") as c:
        vs = c.add_stream(_video_codec(), rate=fps)
        vs.width = vs.height = size
        vs.pix_fmt = "yuv420p"
        st = c.add_stream("aac", rate=44100)
        st.layout = "stereo"
        frames = int(round(seconds * fps))
        for i in range(frames):
            travel = (i / max(1, frames - 1) - 0.5) * (size - 2 * side)  # from one side to the other
            x0 = (size - side) // 2 + int(step[0] * travel)
            y0 = (size - side) // 2 + int(step[1] * travel)
            picture = np.zeros((size, size, 3), np.uint8)
            picture[y0:y0 + side, x0:x0 + side] = colour
            for pkt in vs.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                c.mux(pkt)
        for pkt in vs.encode():
            c.mux(pkt)
        _encode_audio(c, st, _tone(seconds, 44100), 44100)
    return Path(path)


def _encode_audio(c, st, mono: np.ndarray, sr: int):
    import av

    chunk = 1024
    stereo = np.stack([mono, mono])
    for start in range(0, stereo.shape[1], chunk):
        block = np.ascontiguousarray(stereo[:, start:start + chunk])
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        for pkt in st.encode(frame):
            c.mux(pkt)
    for pkt in st.encode():
        c.mux(pkt)


def make_m4a(path, seconds: float = 1.0, sr: int = 44100) -> Path:
    """Audio only: AAC in an MP4 (.m4a) container."""
    import av

    with av.open(str(path), mode="w", format="mp4") as c:
        st = c.add_stream("aac", rate=sr)
        st.layout = "stereo"
        _encode_audio(c, st, _tone(seconds, sr), sr)
    return Path(path)


def _cloud(n: int, seed: int = 0) -> np.ndarray:
    """n points on a unit sphere shifted and stretched (so normalisation has work to do)."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return (v * np.array([2.0, 1.0, 0.5]) + np.array([5.0, -3.0, 1.0])).astype(np.float32)


def make_ply(path, n: int = 2000, points=None) -> Path:
    """A binary little-endian PLY point cloud (vertices only)."""
    pts = np.asarray(_cloud(n) if points is None else points, dtype="<f4")
    header = (f"ply\nformat binary_little_endian 1.0\nelement vertex {len(pts)}\n"
              "property float x\nproperty float y\nproperty float z\nend_header\n").encode()
    Path(path).write_bytes(header + pts.tobytes())
    return Path(path)


def make_obj_mesh(path) -> Path:
    """A Wavefront OBJ: a 2 x 1 x 0.5 box centred at (1, 2, 3) (8 vertices, 12 triangles)."""
    corners = [(x, y, z) for x in (0, 2) for y in (0, 1) for z in (0, 0.5)]
    faces = [(1, 2, 4), (1, 4, 3), (5, 7, 8), (5, 8, 6), (1, 5, 6), (1, 6, 2),
             (3, 4, 8), (3, 8, 7), (1, 3, 7), (1, 7, 5), (2, 6, 8), (2, 8, 4)]
    lines = ["# box", "mtllib missing.mtl"]
    lines += [f"v {x} {y + 1.5} {z + 2.75}" for x, y, z in corners]
    lines += [f"f {a} {b} {c}" for a, b, c in faces]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def make_xyz(path, n: int = 500, delimiter: str = " ", header: str | None = None) -> Path:
    pts = _cloud(n, seed=1)
    rows = [delimiter.join(f"{v:.5f}" for v in p) for p in pts]
    Path(path).write_text(((header + "\n") if header else "") + "\n".join(rows) + "\n")
    return Path(path)


def make_npy(path, n: int = 3000) -> Path:
    np.save(path, _cloud(n, seed=2))
    return Path(path)


def imu_signal(t) -> np.ndarray:
    """A known 6-channel IMU signal at times ``t`` (s): (len(t), 6) float64, ax ay az in g,
    gx gy gz in rad/s (smooth, so linear resampling reproduces it closely)."""
    t = np.asarray(t, dtype=np.float64)
    return np.stack([np.sin(2 * np.pi * 3 * t), 1.0 + 0.1 * np.cos(2 * np.pi * t), 0.2 * t,
                     np.cos(2 * np.pi * 2 * t), np.full_like(t, 0.5), -t], axis=1)


def make_imu_csv(path, seconds: float = 1.0, rate: float = 100, time_column: bool = False, t0: float = 0.0,
                 header: str | None = "ax,ay,az,gx,gy,gz", delimiter: str = ",", scale_acc: float = 1.0) -> Path:
    """A CSV IMU trace of ``imu_signal`` sampled at ``rate`` Hz for ``seconds``; with
    ``time_column`` a leading time column (seconds, starting at ``t0``; the header gains
    "time"). ``scale_acc`` multiplies the accelerations (9.81 writes m/s^2)."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    x = imu_signal(t)
    x[:, :3] *= scale_acc
    if time_column:
        x = np.concatenate([(t0 + t)[:, None], x], axis=1)
        header = ("time" + delimiter + header.replace(",", delimiter)) if header else None
    elif header:
        header = header.replace(",", delimiter)
    rows = [delimiter.join(f"{v:.6f}" for v in r) for r in x]
    Path(path).write_text(((header + "\n") if header else "") + "\n".join(rows) + "\n")
    return Path(path)


def make_imu_npy(path, seconds: float = 1.0, rate: float = 100, time_column: bool = False,
                 dtype=np.float32) -> Path:
    """A (T, 6) .npy IMU trace of ``imu_signal`` (T, 7 with a leading time column)."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    x = imu_signal(t)
    if time_column:
        x = np.concatenate([t[:, None], x], axis=1)
    np.save(path, x.astype(dtype))
    return Path(path)


# ---------------------------------------------------------------- broken inputs


def make_empty(path) -> Path:
    Path(path).write_bytes(b"")
    return Path(path)


def make_random_bytes(path, n: int = 4096, seed: int = 0) -> Path:
    Path(path).write_bytes(np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes())
    return Path(path)


def make_text_file(path, text: str = "hello, this is not a media file\n" * 20) -> Path:
    Path(path).write_text(text)
    return Path(path)


def make_truncated(src, dst, keep: float | int = 0.5) -> Path:
    """Copy of ``src`` cut to ``keep`` bytes (int) or that fraction of its size (float)."""
    data = Path(src).read_bytes()
    n = keep if isinstance(keep, int) else int(len(data) * keep)
    Path(dst).write_bytes(data[:n])
    return Path(dst)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_png_huge_header(path, width: int = 100_000, height: int = 100_000) -> Path:
    """A tiny PNG whose header claims ``width`` x ``height`` RGB pixels (a decompression bomb
    shape); its IDAT holds almost nothing."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _png_chunk(b"IEND", b""))
    Path(path).write_bytes(data)
    return Path(path)


def make_nan_wav(path, seconds: float = 0.5, sr: int = 16000) -> Path:
    import soundfile as sf

    y = _tone(seconds, sr)
    y[100:200] = np.nan
    sf.write(str(path), y, sr, subtype="FLOAT", format="WAV")
    return Path(path)


def make_silent_wav(path, seconds: float = 1.0) -> Path:
    return make_wav(path, seconds=seconds, amplitude=0.0)


def make_short_wav(path, seconds: float = 0.01) -> Path:
    return make_wav(path, seconds=seconds)


def make_inf_npy(path, n: int = 200) -> Path:
    pts = _cloud(n)
    pts[5, 1] = np.inf
    np.save(path, pts)
    return Path(path)


def make_few_points(path, n: int = 10) -> Path:
    return make_xyz(path, n=n)


def make_identical_points(path, n: int = 100) -> Path:
    np.save(path, np.tile(np.array([[1.0, 2.0, 3.0]], np.float32), (n, 1)))
    return Path(path)


class _TouchOnUnpickle:
    """Unpickling this object creates ``marker``: proof that a reader loaded a pickle."""

    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def make_pickle_npy(path, marker) -> Path:
    """An object-dtype .npy (a pickle inside) whose unpickling would create ``marker``."""
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = _TouchOnUnpickle(marker), "x"
    np.save(path, arr, allow_pickle=True)
    return Path(path)


def make_mp4_zero_frames(path, packets: int = 3) -> Path:
    """An MP4 with a video stream whose packets are garbage: it decodes to zero frames."""
    import av

    with av.open(str(path), mode="w", format="mp4") as c:
        vs = c.add_stream("mpeg4", rate=24)
        vs.width, vs.height, vs.pix_fmt = 64, 64, "yuv420p"
        c.start_encoding()
        for i in range(packets):
            pkt = av.Packet(b"\x00" * 64)
            pkt.stream, pkt.pts, pkt.dts, pkt.time_base = vs, i, i, Fraction(1, 24)
            c.mux(pkt)
    return Path(path)


# ---------------------------------------------------------------- media drawn by other programs (folder datasets)

FFMPEG_COLOURS = {"red": "0xE61E1E", "green": "0x1EC81E", "blue": "0x1E46E6", "yellow": "0xE6D21E"}


def require_tool(tool: str) -> str:
    """The path of a command-line tool, or a RuntimeError saying it must be installed (tests fail, not skip)."""
    import shutil

    found = shutil.which(tool)
    if found is None:
        raise RuntimeError(f"{tool} is not installed, and these tests need it to draw their media "
                           f"(Debian/Ubuntu: apt-get install {tool})")
    return found


def make_ffmpeg_clip(path, colour: str = "red", direction: str = "right", seconds: float = 1.2, size: int = 64,
                     freq: float = 440.0) -> Path:
    """An MP4 drawn by ffmpeg: a `colour` square crossing a black frame towards `direction` (left,
    right, up, down) over `seconds`, with a `freq` Hz sine tone (h264 or mpeg4, AAC)."""
    import subprocess

    ffmpeg = require_tool("ffmpeg")
    side = size // 4
    travel = f"({size}-{side})*t/{seconds}"
    x, y = {"right": (travel, f"({size}-{side})/2"), "left": (f"({size}-{side})-{travel}", f"({size}-{side})/2"),
            "down": (f"({size}-{side})/2", travel), "up": (f"({size}-{side})/2", f"({size}-{side})-{travel}")}[direction]
    codec = ["-c:v", "libx264", "-preset", "ultrafast"] if _video_codec() == "libx264" else ["-c:v", "mpeg4"]
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-threads", "1",
                    "-f", "lavfi", "-i", f"color=c=black:s={size}x{size}:r=25:d={seconds}",
                    "-f", "lavfi", "-i", f"color=c={FFMPEG_COLOURS[colour]}:s={side}x{side}:r=25:d={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}:sample_rate=22050",
                    "-filter_complex", f"[0:v][1:v]overlay=x='{x}':y='{y}':eval=frame:shortest=1,format=yuv420p[v]",
                    "-map", "[v]", "-map", "2:a", *codec, "-c:a", "aac", "-shortest", str(path)],
                   check=True, capture_output=True, timeout=60)
    return Path(path)


def make_spoken_wav(path, text: str, voice: str = "en", speed: int = 170, pitch: int = 50) -> Path:
    """A WAV of `text` spoken by espeak-ng."""
    import subprocess

    espeak = require_tool("espeak-ng")
    subprocess.run([espeak, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path), text],
                   check=True, capture_output=True, timeout=60)
    return Path(path)


def make_primitive_mesh(path, shape: str = "box", seed: int = 0) -> Path:
    """A trimesh primitive (box, sphere, cylinder, cone), randomly stretched and turned, in the format
    of `path`'s extension (.off, .ply, .obj, .stl)."""
    import trimesh

    rng = np.random.default_rng(seed)
    mesh = {"box": lambda: trimesh.creation.box(extents=rng.uniform(0.5, 2.0, 3)),
            "sphere": lambda: trimesh.creation.icosphere(subdivisions=2, radius=rng.uniform(0.5, 1.5)),
            "cylinder": lambda: trimesh.creation.cylinder(radius=rng.uniform(0.3, 1.0), height=rng.uniform(0.5, 2.0)),
            "cone": lambda: trimesh.creation.cone(radius=rng.uniform(0.3, 1.0), height=rng.uniform(0.5, 2.0))}[shape]()
    mesh.apply_transform(trimesh.transformations.random_rotation_matrix(rng.random(3)))
    mesh.export(str(path), file_type=Path(path).suffix[1:])
    return Path(path)


def make_off_bad_faces(path) -> Path:
    """An OFF mesh whose face refers to a vertex that does not exist."""
    Path(path).write_text("OFF\n4 2 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 1 99\n")
    return Path(path)


def make_depth_png16(path, size=(80, 64)) -> Path:
    """A 16-bit greyscale PNG depth map: a bright (near) disc on a far ramp."""
    from PIL import Image

    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    depth = 4000 + 20 * x
    depth[(x - w / 2) ** 2 + (y - h / 2) ** 2 < (min(w, h) / 4) ** 2] = 60000
    Image.fromarray(depth.astype(np.uint16)).save(path, format="PNG")
    return Path(path)
