"""Media that other programs make, for bench/foreign_media.py: pictures (PIL, ImageMagick, matplotlib) here,
with the shapes, backgrounds and helpers every family shares; mesh files (trimesh), clips (PIL frames encoded
by ffmpeg) and tones (sox, ffmpeg) in foreign_mesh_clip_tone.py. Each item comes with the classes it shows.

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

from omnivec_core.data.omnishapes.world import COLOUR_RGB, COLOURS, SHAPES

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
        return size + ["xc:rgb(246,241,229)", "-attenuate", "0.25", "+noise", "Gaussian"]
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


def find_tools() -> dict[str, str | None]:
    """Each program a family needs -> its path, or None where it is missing (or only a stand-in)."""
    return {"imagemagick": tool("convert"), "matplotlib": "matplotlib" if find_spec("matplotlib") else None,
            "ffmpeg": tool("ffmpeg"), "sox": tool("sox")}
