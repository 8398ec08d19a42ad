"""Images: PIL, with the pixel count checked from the header before any decoding."""
from __future__ import annotations

import warnings

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ...modalities.image import SIZE
from ...modalities.loaded import Loaded, MediaError
from .common import LIMITS, ReaderLimits, basename, check_content, check_file, extension, run_with_timeout

IMAGE_SIZE = SIZE  # model input side
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff")
IMAGE_FAMILIES = {"png", "jpeg", "gif", "webp", "bmp", "tiff"}


def to_model_image(im: Image.Image, size: int = IMAGE_SIZE) -> torch.Tensor:
    """RGB PIL image -> float32 (3, size, size) in [0, 1]: the shorter side resized to
    ``size`` and the centre cropped (antialiased bicubic). Resizing only the centre square
    (PIL's ``box``) is the same as resize-then-crop and never allocates a huge strip for
    extreme aspect ratios."""
    if im.mode != "RGB":
        im = im.convert("RGB")
    w, h = im.size
    s = min(w, h)
    left, top = (w - s) / 2, (h - s) / 2
    out = im.resize((size, size), Image.Resampling.BICUBIC, box=(left, top, left + s, top + s))
    arr = np.asarray(out, dtype=np.float32) / 255.0
    return torch.from_numpy(arr.transpose(2, 0, 1).copy()).clamp_(0.0, 1.0)


def array_to_model_image(frame: np.ndarray, size: int = IMAGE_SIZE) -> torch.Tensor:
    """(H, W, 3) uint8 RGB array -> float32 (3, size, size), as ``to_model_image``."""
    return to_model_image(Image.fromarray(np.ascontiguousarray(frame[..., :3]), "RGB"), size)


def _flatten_alpha(im: Image.Image, notes: list[str]) -> Image.Image:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        if im.getextrema()[3][0] < 255:
            notes.append("transparent pixels shown on white")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, im).convert("RGB")
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        arr = (arr - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(arr)
        notes.append("high bit-depth image scaled to 8 bits")
        return Image.fromarray(arr.astype(np.uint8)).convert("RGB")
    return im.convert("RGB")


def read_image(path, limits: ReaderLimits = LIMITS, *, allowed_roots=None) -> Loaded:
    """An image file -> Loaded("image", float32 (3, 64, 64) in [0, 1])."""
    p = check_file(path, limits, allowed_roots)
    name = basename(p)
    if extension(p) not in IMAGE_EXTS:
        raise MediaError(f"{name}: unsupported image type '{extension(p) or '(none)'}'; supported: "
                         f"{', '.join(IMAGE_EXTS)}", code="unsupported", name=name)
    check_content(p, "image", IMAGE_FAMILIES)
    return load_image(p, limits, [])


def load_image(p, limits: ReaderLimits, notes: list[str]) -> Loaded:
    """Decode an already checked file (``read_image`` without the extension checks)."""
    name = basename(p)
    tensor = run_with_timeout(lambda: _decode(p, name, limits, notes), limits.decode_timeout_s, "read image", name)
    return Loaded("image", tensor, None, notes, name)


def _decode(p, name: str, limits: ReaderLimits, notes: list[str]) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(p)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise MediaError(f"{name}: image dimensions are too large (over {limits.max_pixels:,} pixels)",
                             code="too_many_pixels", name=name) from None
        except UnidentifiedImageError:
            raise MediaError(f"{name} is not a readable image (unknown or corrupt format)", code="corrupt",
                             name=name) from None
        except (OSError, SyntaxError, ValueError) as e:
            raise MediaError(f"{name} is not a readable image: corrupt or truncated header ({type(e).__name__})",
                             code="corrupt", name=name) from None
        with im:
            w, h = im.size
            if w < 1 or h < 1:
                raise MediaError(f"{name}: image has no pixels ({w}x{h})", code="corrupt", name=name)
            if w * h > limits.max_pixels:
                raise MediaError(f"{name}: image dimensions {w}x{h} are too large ({w * h:,} pixels; the limit is "
                                 f"{limits.max_pixels:,})", code="too_many_pixels", name=name)
            if getattr(im, "n_frames", 1) > 1:
                notes.append(f"animated image with {im.n_frames} frames; using the first")
            try:
                im.draft("RGB", (IMAGE_SIZE, IMAGE_SIZE))  # JPEG: decode at reduced scale
                im.load()
                im = ImageOps.exif_transpose(im)
                im = _flatten_alpha(im, notes)
                if min(w, h) < IMAGE_SIZE:
                    notes.append(f"small image ({w}x{h}); upscaled to {IMAGE_SIZE}x{IMAGE_SIZE}")
                elif w != h:
                    notes.append(f"{w}x{h} image; centre-cropped to a square")
                return to_model_image(im)
            except MediaError:
                raise
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise MediaError(f"{name}: image dimensions are too large", code="too_many_pixels",
                                 name=name) from None
            except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError) as e:
                raise MediaError(f"{name}: the image is truncated or corrupt ({str(e)[:80] or type(e).__name__})",
                                 code="corrupt", name=name) from None
