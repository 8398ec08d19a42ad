"""Meshes, clips and tones for the foreign-media benchmark, made by trimesh, ffmpeg and sox, never by
OmniShapes' renderer (the pictures, shapes, backgrounds and shared helpers are in foreign_generators.py)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from bench.foreign_generators import (SYMMETRIC, ForeignItem, background, balanced, item_rng, near_rgb, pil_shape_tile,
                                run, shape_form, shape_outline)
from omnivec_core.data.omnishapes.world import COLOURS, MOTIONS, PITCH_HZ, SHAPES

# ---- meshes ----

MESH_FORMATS = ("ply", "obj", "stl", "off", "glb")
POSES = ("as made", "turned", "any")  # trimesh's own axes; a turn about one random axis; any rotation at all


def cross_prism(arm_width: float, depth: float):
    """The plus-shaped outline cut into 5 rectangles (10 triangles) and extruded: no shapely needed."""
    import trimesh

    corners = shape_outline("cross", {"cross_w": arm_width})
    faces = [(0, 3, 6), (0, 6, 9), (0, 1, 2), (0, 2, 3), (3, 4, 5), (3, 5, 6), (6, 7, 8), (6, 8, 9), (9, 10, 11),
             (9, 11, 0)]
    return trimesh.creation.extrude_triangulation(corners, np.array(faces), depth)


def solid_mesh(shape: str, rng):
    """The solid of a shape class, made by trimesh.creation as a user would, in trimesh's axes (cone,
    cylinder and capsule along z, not OmniShapes' y and x)."""
    import trimesh

    make = trimesh.creation
    if shape == "circle":
        return make.icosphere(subdivisions=int(rng.integers(2, 4)), radius=1.0)
    if shape == "square":
        return make.box(extents=(1.4, 1.4, 1.4))
    if shape == "triangle":
        return make.cone(radius=0.8, height=rng.uniform(1.3, 1.8), sections=int(rng.integers(24, 49)))
    if shape == "ring":
        return make.torus(0.7, rng.uniform(0.18, 0.3))
    if shape == "diamond":
        a, b = rng.uniform(0.6, 0.8), 1.0
        corners = [(a, 0, 0), (-a, 0, 0), (0, b, 0), (0, -b, 0), (0, 0, a), (0, 0, -a)]
        return trimesh.Trimesh(vertices=corners).convex_hull
    if shape == "hexagon":
        return make.cylinder(radius=0.95, height=rng.uniform(0.5, 1.2), sections=6)
    if shape == "cross":
        return cross_prism(rng.uniform(0.24, 0.36), rng.uniform(0.4, 0.8))
    if shape == "pill":
        return make.capsule(height=rng.uniform(0.8, 1.3), radius=rng.uniform(0.35, 0.5))
    raise ValueError(f"unknown shape {shape!r}")


def pose_matrix(pose: str, rng) -> np.ndarray:
    import trimesh

    if pose == "as made":
        return np.eye(4)
    if pose == "turned":
        return trimesh.transformations.rotation_matrix(math.radians(rng.uniform(20, 90)), rng.normal(size=3))
    q = rng.normal(size=4)  # a normal 4-vector, normalised: a uniformly random rotation
    return trimesh.transformations.quaternion_matrix(q / np.linalg.norm(q))


def make_mesh(out: Path, seed: int, fmt: str, i: int, tools: dict) -> ForeignItem:
    rng = item_rng(seed, "mesh", fmt, i)
    shape = SHAPES[(i + MESH_FORMATS.index(fmt)) % 8]
    pose = POSES[(i + i // 8) % 3]
    scale = 10 ** rng.uniform(-2, 2)
    mesh = solid_mesh(shape, rng)
    mesh.apply_transform(pose_matrix(pose, rng))
    mesh.apply_scale(scale)
    mesh.apply_translation(rng.uniform(-2, 2, 3) * scale)  # files are rarely centred on their origin
    path = out / f"mesh-{fmt}-{i:03d}-{shape}.{fmt}"
    ascii_text = fmt in ("ply", "stl") and rng.random() < 0.5
    file_type = {"stl": "stl_ascii"}.get(fmt, fmt) if ascii_text else fmt
    options = {"encoding": "ascii"} if ascii_text and fmt == "ply" else {}
    mesh.export(path, file_type=file_type, **options)
    return ForeignItem(path, "mesh", f"mesh: .{fmt}", {"shape": shape},
                       facets={"pose": pose, "scale": f"1e{round(math.log10(scale)):+d}", "maker": "trimesh",
                               "encoding": "ascii" if ascii_text or fmt in ("obj", "off") else "binary"})


# ---- clips ----

CLIP_BACKGROUNDS = ("dark", "white", "gradient")
CODECS = {  # name -> (extension, video options, audio options)
    "h264": ("mp4", ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"],
             ["-c:a", "aac", "-b:a", "96k"]),
    "vp8": ("webm", ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "800k",
                     "-pix_fmt", "yuv420p"], ["-c:a", "libvorbis"]),
    "mpeg4": ("avi", ["-c:v", "mpeg4", "-q:v", "5", "-pix_fmt", "yuv420p"], ["-c:a", "libmp3lame"]),
}
MARGIN = 0.04  # share of the frame kept clear at each border


def clip_path(motion: str, rng) -> dict:
    """How the object moves, in frame units (0..1, y down) per second, and for how long (1-2 s, less where the
    path would leave the frame). Every motion is plain within the first second, all the readers take."""
    seconds, angle = rng.uniform(1.0, 2.0), rng.uniform(-30, 30)
    path = {"velocity": (0.0, 0.0), "growth": 1.0, "hop_rate": 0.0, "hop_height": 0.0, "spin": 0.0, "angle": angle}
    low = lambda d: MARGIN + d / 2  # noqa: E731 - nearest centre to a border for an object of diameter d
    if motion in ("left", "right", "up", "down"):
        d, v = rng.uniform(0.22, 0.36), rng.uniform(0.25, 0.45)
        seconds = min(seconds, (1 - 2 * low(d)) / v)
        along = rng.uniform(low(d), max(low(d), 1 - low(d) - v * seconds))
        sign = 1 if motion in ("right", "down") else -1
        along = along if sign > 0 else 1 - along
        across = rng.uniform(low(d), 1 - low(d))
        horizontal = motion in ("left", "right")
        path.update(start=(along, across) if horizontal else (across, along), diameter=d,
                    velocity=(sign * v, 0.0) if horizontal else (0.0, sign * v))
    elif motion == "bounce":
        d, height = rng.uniform(0.2, 0.3), rng.uniform(0.2, 0.3)
        base = rng.uniform(low(d) + height, 1 - low(d))
        path.update(start=(rng.uniform(low(d), 1 - low(d)), base), diameter=d, hop_rate=rng.uniform(1.2, 2.0),
                    hop_height=height)
    elif motion == "spin":
        d = rng.uniform(0.35, 0.55)
        path.update(start=tuple(rng.uniform(low(d), 1 - low(d), 2)), diameter=d,
                    spin=rng.uniform(0.25, 0.5) * rng.choice([-1, 1]))
    else:  # grow, shrink: by a factor of 1.5-2 per second, the largest size still inside the frame
        factor = rng.uniform(1.5, 2.0)
        d = rng.uniform(0.15, 0.25) if motion == "grow" else rng.uniform(0.5, 0.75)
        seconds = min(seconds, math.log(0.85 / d) / math.log(factor) if motion == "grow" else
                      math.log(d / 0.08) / math.log(factor))
        widest = d * factor ** seconds if motion == "grow" else d
        path.update(start=tuple(rng.uniform(low(widest), 1 - low(widest), 2)), diameter=d,
                    growth=factor if motion == "grow" else 1 / factor)
    path["seconds"] = seconds
    return path


def where_at(path: dict, t: float) -> tuple[float, float, float, float]:
    """(x, y, diameter, angle in degrees) at time t seconds."""
    x = path["start"][0] + path["velocity"][0] * t
    y = path["start"][1] + path["velocity"][1] * t - path["hop_height"] * abs(math.sin(math.pi * path["hop_rate"] * t))
    return x, y, path["diameter"] * path["growth"] ** t, path["angle"] + 360 * path["spin"] * t


def clip_frames(shape: str, rgb, path: dict, side: int, fps: int, backdrop: Image.Image, form: dict) -> bytes:
    frames = []
    for n in range(int(round(path["seconds"] * fps))):
        x, y, diameter, angle = where_at(path, n / fps)
        frame = backdrop.copy()
        tile = pil_shape_tile(shape, diameter * side / 2, angle, rgb, None, 0, form)
        frame.alpha_composite(tile, (round(x * side - tile.width / 2), round(y * side - tile.height / 2)))
        frames.append(frame.convert("RGB").tobytes())
    return b"".join(frames)


def make_clip(out: Path, seed: int, backdrop_kind: str, i: int, tools: dict) -> ForeignItem:
    """Clip i on a background kind: PIL frames piped to ffmpeg; every other clip has a sine tone at its colour's
    pitch (a pure tone is the world's circle timbre, so the sound is scored on colour alone)."""
    if not tools.get("ffmpeg"):
        raise RuntimeError("ffmpeg is not on the PATH: install it (Debian: apt install ffmpeg) to encode the clips")
    rng = item_rng(seed, "clip", backdrop_kind, i)
    offset = CLIP_BACKGROUNDS.index(backdrop_kind)
    shape, colour = SHAPES[(i + 3 * offset) % 8], COLOURS[balanced(i, 3, 7 * offset)]
    motion = MOTIONS[balanced(i, 5, 2 * offset)]
    if motion == "spin" and shape in SYMMETRIC:
        shape = SHAPES[(SHAPES.index(shape) + 4) % 8]  # circle -> diamond, ring -> cross
    side, fps = int(rng.choice([96, 128, 160, 192, 256])), int(rng.choice([12, 15, 24, 25, 30]))
    codec = list(CODECS)[(i + offset) % len(CODECS)]
    suffix, video_options, audio_options = CODECS[codec]
    path = clip_path(motion, rng)
    backdrop = background(backdrop_kind, side, side, rng).convert("RGBA")
    frames = clip_frames(shape, near_rgb(colour, rng), path, side, fps, backdrop, shape_form(rng))
    file = out / f"clip-{backdrop_kind}-{i:03d}-{shape}-{colour}-{motion}.{suffix}"
    tone = i % 2 == 0
    pitch = PITCH_HZ[COLOURS.index(colour)] * (1 + rng.uniform(-0.015, 0.015))
    sound = ["-f", "lavfi", "-i", f"sine=frequency={pitch:.2f}:sample_rate=44100:duration={path['seconds']:.3f}"]
    run([tools["ffmpeg"], "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{side}x{side}",
         "-r", str(fps), "-i", "-", *(sound if tone else []), *video_options, *(audio_options if tone else []),
         "-threads", "1", str(file)], input=frames)
    return ForeignItem(file, "clip", f"clip: {backdrop_kind}", {"shape": shape, "colour": colour, "motion": motion},
                       heard={"colour": colour} if tone else {},
                       facets={"codec": codec, "fps": str(fps), "frame": f"{side} px",
                               "seconds": f"{path['seconds']:.1f}", "sound track": "tone" if tone else "none",
                               "maker": "pil + ffmpeg"})


# ---- tones ----

TONE_KINDS = ("sine", "square", "noisy")


def sox_tone(sox: str, file: Path, wave: str, pitch: float, level: float, noise: float, seconds: float, rate: int):
    def synth(kind: str, hz: str, vol: float) -> str:  # -R: the same noise and dither every time, so the same file
        return f"{sox} -R -n -r {rate} -c 1 -p synth {seconds:.3f} {kind} {hz} vol {vol:.3f}"

    if noise == 0:
        run([sox, "-R", "-n", "-r", str(rate), "-c", "1", str(file), "synth", f"{seconds:.3f}", wave, f"{pitch:.2f}",
             "vol", f"{level:.3f}"])
    else:  # a second synth of pink noise, mixed in at the given level
        run([sox, "-R", "-m", "-v", "1", "|" + synth(wave, f"{pitch:.2f}", level), "-v", "1",
             "|" + synth("pinknoise", "", noise), str(file)])


def ffmpeg_tone(ffmpeg: str, file: Path, wave: str, pitch: float, level: float, noise: float, seconds: float,
                rate: int):
    carrier = f"sin(2*PI*{pitch:.2f}*t)"
    expression = f"{level:.3f}*{carrier if wave == 'sine' else 'sgn(' + carrier + ')'}"
    if noise:
        expression += f"+{noise:.3f}*(2*random(0)-1)"  # white noise
    run([ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", f"aevalsrc=exprs='{expression}':s={rate}:d={seconds:.3f}",
         "-ac", "1", str(file)])


def make_tone(out: Path, seed: int, kind: str, i: int, tools: dict) -> ForeignItem:
    """A tone at a colour's pitch (up to 1.5 % off), 1-2 s, by sox or ffmpeg; 'noisy': sine or square under
    noise. Pitch stands for colour in the world, so that is what a tone is scored on."""
    rng = item_rng(seed, "tone", kind, i)
    colour = COLOURS[(i + 3 * TONE_KINDS.index(kind)) % 8]
    maker = "sox" if i % 2 == 0 and tools.get("sox") else "ffmpeg"
    if not tools.get(maker):
        raise RuntimeError("neither sox nor ffmpeg is on the PATH: install one to make the tones")
    wave = kind if kind != "noisy" else str(rng.choice(["sine", "square"]))
    level = rng.uniform(0.2, 0.7)
    noise = level * rng.uniform(0.1, 0.35) if kind == "noisy" else 0.0
    formats = ("wav", "flac", "ogg") if maker == "sox" else ("wav", "ogg", "mp3", "m4a")
    fmt, rate = str(rng.choice(formats)), int(rng.choice([16000, 22050, 44100, 48000]))
    pitch = PITCH_HZ[COLOURS.index(colour)] * (1 + rng.uniform(-0.015, 0.015))
    file = out / f"tone-{kind}-{i:03d}-{colour}.{fmt}"
    (sox_tone if maker == "sox" else ffmpeg_tone)(tools[maker], file, wave, pitch, level, noise,
                                                  rng.uniform(1.0, 2.0), rate)
    return ForeignItem(file, "tone", f"tone: {kind}", {"colour": colour},
                       facets={"maker": maker, "wave": wave, "format": fmt, "rate": f"{rate} Hz"})
