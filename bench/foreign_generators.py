"""Media that other programs make, for bench/foreign_media.py: pictures (PIL, ImageMagick, matplotlib), mesh files
(trimesh), clips (PIL frames encoded by ffmpeg) and tones (sox, ffmpeg), each with the classes it shows.

Nothing here draws with OmniShapes' renderer (omnivec_core/data/omnishapes): only its class names and the two
tables that define colour classes (COLOUR_RGB, PITCH_HZ) are read. Proportions, backgrounds, motions and tones
are this file's own, as another program would draw them. Every item's parameters come from a generator seeded
by (seed, family, group, item number), so item i of a group is the same whatever --per-group is.
"""
from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from omnivec_core.data.omnishapes.world import COLOUR_RGB, COLOURS, MOTIONS, PITCH_HZ, SHAPES

BACKGROUNDS = ("dark", "white", "paper", "light grey", "mid grey", "gradient", "noise", "pattern")
CANVASES = ((128, 128), (200, 200), (256, 256), (320, 320), (320, 240), (240, 320), (400, 300))
PICTURE_MAKERS = ("pil", "imagemagick", "matplotlib")
SYMMETRIC = ("circle", "ring")  # a spin of these cannot be seen: they never get the spin motion
TIMEOUT_S = 120


@dataclass
class ForeignItem:
    """One generated file and what it shows. `labels`: attribute -> class the picture, clip or mesh shows (a
    tone: the colour its pitch stands for); `heard`: what a clip's sound track tells (empty without one);
    `facets`: how it was made (maker, background, format, pose...), for breakdowns."""
    path: Path
    medium: str  # 'picture' | 'clip' | 'mesh' | 'tone'
    group: str
    labels: dict[str, str]
    heard: dict[str, str] = field(default_factory=dict)
    facets: dict[str, str] = field(default_factory=dict)


def item_rng(seed: int, family: str, group: str, i: int) -> np.random.Generator:
    """A generator for one item: the same item whatever other families or group sizes are asked for."""
    return np.random.default_rng([seed, *(ord(c) for c in f"{family}/{group}"), i])


def balanced(i: int, block_shift: int, offset: int) -> int:
    """Class index of item i: each block of 8 items holds every class once, and the pairing with the shape
    (class i % 8) moves by block_shift per block, so two attributes are balanced and not tied together."""
    return (i + block_shift * (i // 8) + offset) % 8


def near_rgb(colour: str, rng) -> tuple[int, int, int]:
    """The class colour moved by up to 7 % per channel: near the world's, never its exact value."""
    base = np.array(COLOUR_RGB[COLOURS.index(colour)])
    jitter = rng.uniform(0.02, 0.07, 3) * rng.choice([-1, 1], 3)
    return tuple(int(v) for v in np.clip((base + jitter) * 255, 0, 255).round())


MAGICK_NAMES = ("magick", "convert-im6.q16", "convert")  # ImageMagick 7, Debian's ImageMagick 6, any other


def tool(name: str) -> str | None:
    """The path of a program that really works (for ImageMagick, the first of its names that draws one red
    pixel: stand-ins that only convert PNGs, or a missing delegate, must not count)."""
    if name != "convert":
        return shutil.which(name)
    for candidate in filter(None, map(shutil.which, MAGICK_NAMES)):
        probe = subprocess.run([candidate, "-size", "1x1", "xc:red", "-depth", "8", "rgb:-"], capture_output=True,
                               timeout=30)
        if probe.returncode == 0 and probe.stdout[:3] == b"\xff\x00\x00":
            return candidate
    return None


def run(command: list[str], **kwargs) -> None:
    done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.decode()[-600:]}")


# ---- shapes, in unit radius (the shape fits a circle of radius 1), y up ----

def shape_outline(shape: str, form: dict) -> np.ndarray:
    """(K, 2) polygon corners of the straight-edged shapes; `form` varies their proportions."""
    if shape == "square":
        h = 0.72
        return np.array([(-h, -h), (h, -h), (h, h), (-h, h)])
    if shape == "triangle":  # equilateral, apex up, centred on its centroid
        return np.array([(math.cos(a), math.sin(a)) for a in np.radians([90, 210, 330])])
    if shape == "diamond":
        return np.array([(0, 1), (form["diamond_w"], 0), (0, -1), (-form["diamond_w"], 0)])
    if shape == "hexagon":
        return 0.95 * np.array([(math.cos(a), math.sin(a)) for a in np.radians(np.arange(90, 450, 60))])
    if shape == "cross":
        w, l = form["cross_w"], 0.95
        return np.array([(w, w), (w, l), (-w, l), (-w, w), (-l, w), (-l, -w), (-w, -w), (-w, -l), (w, -l),
                         (w, -w), (l, -w), (l, w)])
    raise ValueError(f"{shape} is not drawn as a polygon")


def shape_form(rng) -> dict:
    """Per-item proportions, within what each class still plainly is."""
    return {"diamond_w": rng.uniform(0.55, 0.8), "cross_w": rng.uniform(0.22, 0.36),
            "ring_inner": rng.uniform(0.4, 0.65), "pill_r": rng.uniform(0.32, 0.5)}


def pil_shape_tile(shape: str, radius: float, angle: float, fill, edge, width: int, form: dict) -> Image.Image:
    """The shape drawn with ImageDraw's own primitives on a transparent tile, turned by `angle` degrees
    (counter-clockwise); PIL cannot turn an ellipse or a rounded rectangle, so the tile turns."""
    size = int(math.ceil(2.3 * radius)) + 2 * width + 4
    tile = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw, c, r = ImageDraw.Draw(tile), size / 2, radius
    style = dict(fill=fill + (255,), outline=None if edge is None else edge + (255,), width=width if edge else 0)
    if shape == "circle":
        draw.ellipse([c - r, c - r, c + r, c + r], **style)
    elif shape == "ring":
        inner = r * form["ring_inner"]
        draw.ellipse([c - r, c - r, c + r, c + r], **style)
        draw.ellipse([c - inner, c - inner, c + inner, c + inner], fill=(0, 0, 0, 0),
                     outline=style["outline"], width=style["width"])
    elif shape == "pill":
        half_h = r * form["pill_r"]
        draw.rounded_rectangle([c - r, c - half_h, c + r, c + half_h], radius=half_h, **style)
    else:
        corners = [(c + r * x, c - r * y) for x, y in shape_outline(shape, form)]  # image y runs down
        draw.polygon(corners, **style)
    return tile.rotate(angle, resample=Image.Resampling.BICUBIC)


# ---- backgrounds ----

def grey_tint(level: int, rng, spread: int = 6) -> np.ndarray:
    return np.clip(level + rng.integers(-spread, spread + 1, 3), 0, 255)


def background(kind: str, width: int, height: int, rng) -> Image.Image:
    """A canvas of one kind, made with numpy: none is saturated, so the object is the one colour in it."""
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    if kind == "dark":
        pixels = np.broadcast_to(grey_tint(rng.integers(8, 45), rng, 8), (height, width, 3))
    elif kind == "white":
        pixels = np.broadcast_to(grey_tint(252, rng, 3), (height, width, 3))
    elif kind == "paper":
        base = np.array([246, 241, 229]) + rng.integers(-5, 6, 3)
        pixels = base + rng.normal(0, 3.5, (height, width, 1))
    elif kind == "light grey":
        pixels = np.broadcast_to(grey_tint(rng.integers(195, 225), rng), (height, width, 3))
    elif kind == "mid grey":
        pixels = np.broadcast_to(grey_tint(rng.integers(105, 150), rng), (height, width, 3))
    elif kind == "gradient":
        a, b = grey_tint(rng.integers(150, 245), rng, 12), grey_tint(rng.integers(20, 110), rng, 12)
        turn = rng.uniform(0, 2 * math.pi)
        t = np.clip(0.5 + (x - 0.5) * math.cos(turn) + (y - 0.5) * math.sin(turn), 0, 1)[..., None]
        pixels = a * (1 - t) + b * t
    elif kind == "noise":
        grain = Image.fromarray(rng.integers(0, 256, (height, width), dtype=np.uint8))
        blurred = np.asarray(grain.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 3.0))), dtype=float)
        grit = (blurred - blurred.mean()) / max(blurred.std(), 1e-6) * rng.uniform(12, 30)  # a texture, not snow
        pixels = (rng.integers(90, 170) + grit)[..., None].repeat(3, 2)
    elif kind == "pattern":
        pixels = pattern(x, y, rng)
    else:
        raise ValueError(f"unknown background {kind!r}; kinds are {BACKGROUNDS}")
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def pattern(x: np.ndarray, y: np.ndarray, rng) -> np.ndarray:
    """Stripes (any direction) or checks, in two greys."""
    period = rng.uniform(0.06, 0.16)
    if rng.random() < 0.5:
        turn = rng.uniform(0, math.pi)
        on = np.floor((x * math.cos(turn) + y * math.sin(turn)) / period) % 2
    else:
        on = (np.floor(x / period) + np.floor(y / period)) % 2
    light, dark = grey_tint(rng.integers(190, 240), rng), grey_tint(rng.integers(60, 150), rng)
    return np.where(on[..., None] > 0, light, dark)


# ---- pictures ----

@dataclass
class PictureSpec:
    shape: str
    colour: str
    rgb: tuple
    background: str
    maker: str
    canvas: tuple
    centre: tuple      # pixels
    radius: float      # pixels: the shape fits this circle
    angle: float       # degrees, counter-clockwise
    edge: tuple | None  # outline colour, None for a plain fill
    edge_width: int
    form: dict
    fmt: str           # 'png' | 'jpg'
    quality: int
    seed: int


def picture_spec(seed: int, background_kind: str, i: int) -> PictureSpec:
    rng = item_rng(seed, "picture", background_kind, i)
    offset = BACKGROUNDS.index(background_kind)
    shape, colour = SHAPES[(i + offset) % 8], COLOURS[balanced(i, 3, 5 * offset)]
    maker = PICTURE_MAKERS[(i + offset) % 3]
    width, height = CANVASES[rng.integers(len(CANVASES))]
    side = min(width, height)  # the readers keep the centre square: the shape stays inside it
    radius = side * rng.uniform(0.25, 0.80) / 2
    room = side / 2 - radius * 1.05
    centre = (width / 2 + rng.uniform(-room, room), height / 2 + rng.uniform(-room, room))
    outlined = i % 2 == 1
    edge = None
    if outlined:
        shade = rng.choice(["black", "darker", "white"])
        edge = (20, 20, 20) if shade == "black" else (250, 250, 250) if shade == "white" else \
            tuple(int(v * 0.5) for v in near_rgb(colour, rng))
    return PictureSpec(shape, colour, near_rgb(colour, rng), background_kind, maker, (width, height), centre, radius,
                       float(rng.uniform(-30, 30)), edge, max(2, int(radius * rng.uniform(0.04, 0.1))),
                       shape_form(rng), str(rng.choice(["png", "jpg"])), int(rng.integers(70, 96)),
                       int(rng.integers(1 << 30)))


def pil_picture(spec: PictureSpec, path: Path) -> None:
    canvas = background(spec.background, *spec.canvas, np.random.default_rng(spec.seed)).convert("RGBA")
    tile = pil_shape_tile(spec.shape, spec.radius, spec.angle, spec.rgb, spec.edge, spec.edge_width, spec.form)
    canvas.alpha_composite(tile, (round(spec.centre[0] - tile.width / 2), round(spec.centre[1] - tile.height / 2)))
    save_picture(canvas.convert("RGB"), spec, path)


def save_picture(picture: Image.Image, spec: PictureSpec, path: Path) -> None:
    picture.save(path, quality=spec.quality) if spec.fmt == "jpg" else picture.save(path)


def magick_background(kind: str, width: int, height: int, rng) -> list[str]:
    """ImageMagick's own canvas of each kind (its noise, gradients and patterns, not numpy's)."""
    rgb = lambda v: f"rgb({v[0]},{v[1]},{v[2]})"  # noqa: E731
    size = ["-size", f"{width}x{height}", "-seed", str(int(rng.integers(1 << 30)))]
    if kind in ("dark", "white", "light grey", "mid grey"):
        level = {"dark": rng.integers(8, 45), "white": 252, "light grey": rng.integers(195, 225),
                 "mid grey": rng.integers(105, 150)}[kind]
        return size + [f"xc:{rgb(grey_tint(level, rng))}"]
    if kind == "paper":
        return size + [f"xc:rgb(246,241,229)", "-attenuate", "0.25", "+noise", "Gaussian"]
    if kind == "gradient":
        a, b = grey_tint(rng.integers(150, 245), rng, 12), grey_tint(rng.integers(20, 110), rng, 12)
        return size + ["-define", f"gradient:angle={int(rng.integers(0, 360))}", f"gradient:{rgb(a)}-{rgb(b)}"]
    if kind == "noise":
        return size + ["xc:gray50", "+noise", "Random", "-blur", f"0x{rng.uniform(1, 3):.1f}",
                       "-colorspace", "Gray", "-colorspace", "sRGB", "-type", "TrueColor"]
    if kind == "pattern":
        return size + ["pattern:checkerboard", "-type", "TrueColor"]
    raise ValueError(f"unknown background {kind!r}")


def magick_primitive(spec: PictureSpec) -> list[str]:
    """-draw arguments for the shape at the origin, then moved and turned by the draw's own transform."""
    r, form = spec.radius, spec.form
    place = f"translate {spec.centre[0]:.1f},{spec.centre[1]:.1f} rotate {-spec.angle:.1f} "
    paint = ["-fill", "rgb({},{},{})".format(*spec.rgb)]
    paint += ["-stroke", "rgb({},{},{})".format(*spec.edge), "-strokewidth", str(spec.edge_width)] \
        if spec.edge else ["-stroke", "none"]
    if spec.shape == "circle":
        return paint + ["-draw", place + f"circle 0,0 {r:.1f},0"]
    if spec.shape == "ring":  # a thick stroke along the mid circle, then its edges
        inner = r * form["ring_inner"]
        ring = ["-fill", "none", "-stroke", "rgb({},{},{})".format(*spec.rgb), "-strokewidth", f"{r - inner:.1f}",
                "-draw", place + f"circle 0,0 {(r + inner) / 2:.1f},0"]
        if not spec.edge:
            return ring
        return ring + ["-stroke", "rgb({},{},{})".format(*spec.edge), "-strokewidth", str(spec.edge_width),
                       "-draw", place + f"circle 0,0 {r:.1f},0", "-draw", place + f"circle 0,0 {inner:.1f},0"]
    if spec.shape == "pill":
        h = r * form["pill_r"]
        return paint + ["-draw", place + f"roundrectangle {-r:.1f},{-h:.1f} {r:.1f},{h:.1f} {h:.1f},{h:.1f}"]
    corners = " ".join(f"{r * x:.1f},{-r * y:.1f}" for x, y in shape_outline(spec.shape, form))
    return paint + ["-draw", place + f"polygon {corners}"]


def magick_picture(spec: PictureSpec, path: Path, convert: str) -> None:
    quality = ["-quality", str(spec.quality)] if spec.fmt == "jpg" else []
    run([convert, *magick_background(spec.background, *spec.canvas, np.random.default_rng(spec.seed)),
         *magick_primitive(spec), *quality, str(path)])


def mpl_picture(spec: PictureSpec, path: Path) -> None:
    """matplotlib patches over the background, saved by savefig at the canvas's exact pixel size."""
    from matplotlib import patches, transforms
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = spec.canvas
    figure = Figure(figsize=(width / 100, height / 100), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    axes.imshow(np.asarray(background(spec.background, width, height, np.random.default_rng(spec.seed))),
                extent=(0, width, height, 0), interpolation="nearest")
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)  # pixel coordinates, y down
    (cx, cy), r, form = spec.centre, spec.radius, spec.form
    # line widths are in points: at 100 dpi a pixel is 0.72 pt
    style = dict(facecolor=np.array(spec.rgb) / 255, linewidth=spec.edge_width * 0.72 if spec.edge else 0,
                 edgecolor=np.array(spec.edge) / 255 if spec.edge else "none")
    if spec.shape == "circle":
        patch = patches.Circle((cx, cy), r, **style)
    elif spec.shape == "ring":
        patch = patches.Annulus((cx, cy), r, r * (1 - form["ring_inner"]), **style)
    elif spec.shape == "pill":
        h = r * form["pill_r"]
        patch = patches.FancyBboxPatch((cx - r, cy - h), 2 * r, 2 * h, boxstyle=f"round,pad=0,rounding_size={h:.2f}",
                                       **style)
    else:
        patch = patches.Polygon([(cx + r * x, cy - r * y) for x, y in shape_outline(spec.shape, form)], **style)
    # y runs down in these axes, so a counter-clockwise turn on screen is a negative angle here
    patch.set_transform(transforms.Affine2D().rotate_deg_around(cx, cy, -spec.angle) + axes.transData)
    axes.add_patch(patch)
    options = {"pil_kwargs": {"quality": spec.quality}} if spec.fmt == "jpg" else {}
    figure.savefig(path, dpi=100, **options)




def make_picture(out: Path, seed: int, background_kind: str, i: int, tools: dict) -> ForeignItem:
    """Picture i of a background kind, by its planned maker; a maker this machine lacks gives way to PIL (the
    facets say so), so the set of items, their labels and their geometry never depend on the machine."""
    spec = picture_spec(seed, background_kind, i)
    path = out / f"picture-{background_kind.replace(' ', '-')}-{i:03d}-{spec.shape}-{spec.colour}.{spec.fmt}"
    maker = spec.maker if tools.get(spec.maker) else "pil"
    if maker == "imagemagick":
        magick_picture(spec, path, tools["imagemagick"])
    elif maker == "matplotlib":
        mpl_picture(spec, path)
    else:
        pil_picture(spec, path)
    facets = {"maker": maker, "style": "outlined" if spec.edge else "filled", "format": spec.fmt,
              "canvas": "{}x{}".format(*spec.canvas), "size": f"{2 * spec.radius / min(spec.canvas):.0%} of side"}
    if maker != spec.maker:
        facets["planned maker"] = spec.maker
    return ForeignItem(path, "picture", f"picture: {background_kind}", {"shape": spec.shape, "colour": spec.colour},
                       facets=facets)


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


def find_tools() -> dict[str, str | None]:
    """Each program a family needs -> its path, or None where it is missing (or only a stand-in)."""
    return {"imagemagick": tool("convert"), "matplotlib": "matplotlib" if find_spec("matplotlib") else None,
            "ffmpeg": tool("ffmpeg"), "sox": tool("sox")}
