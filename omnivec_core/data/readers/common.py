"""Guards shared by all readers: limits, path and file checks, content sniffing, and
decoding under a timeout."""
from __future__ import annotations

import os
import re
import stat
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...modalities.loaded import MediaError


@dataclass(frozen=True)
class ReaderLimits:
    max_bytes: int = 50 * 2**20  # largest file accepted, in bytes
    max_pixels: int = 40_000_000  # largest image (or video frame) width * height
    # The most media time a decoder walks through, in seconds. Readers stop after the first
    # second anyway; this caps streams whose timestamps are missing or broken.
    max_seconds_decoded: float = 5.0
    decode_timeout_s: float = 10.0  # wall-clock limit of one decode
    max_points: int = 2_000_000  # most vertices / points accepted in a point or mesh file


LIMITS = ReaderLimits()

# How many timed-out decodes may still be running in the background before new decodes
# are refused (a thread cannot be killed; this stops a flood of bad files piling them up).
MAX_LINGERING = 4
_lingering = 0
_lingering_lock = threading.Lock()


def basename(path) -> str:
    try:
        return Path(os.fspath(path)).name or str(path)
    except TypeError:
        return repr(path)[:40]


def as_path(path) -> Path:
    if isinstance(path, (str, os.PathLike)) and not isinstance(path, bytes):
        p = Path(os.fspath(path))
        if str(p) in ("", "."):
            raise MediaError("no file was given", code="missing")
        return p
    raise MediaError(f"expected a file path, got {type(path).__name__}", code="not_a_path")


def check_path(path, allowed_roots) -> Path:
    """Resolve ``path`` (symlinks and "..") and return it if it lies inside one of
    ``allowed_roots``; otherwise raise MediaError. Open the returned path, not the original,
    so that a symlink swapped in later cannot redirect the read."""
    p = as_path(path)
    try:
        real = p.resolve(strict=False)
    except (OSError, RuntimeError) as e:  # symlink loops
        raise MediaError(f"{basename(p)}: the path cannot be resolved ({type(e).__name__})", code="bad_path",
                         name=basename(p)) from None
    for root in allowed_roots or ():
        try:
            r = Path(os.fspath(root)).resolve(strict=False)
        except (OSError, RuntimeError, TypeError):
            continue
        if real == r or real.is_relative_to(r):
            return real
    raise MediaError(f"{basename(p)} is outside the folders this app may read", code="outside_roots",
                     name=basename(p))


def check_file(path, limits: ReaderLimits, allowed_roots=None) -> Path:
    """The checks every file passes before any decoder sees it: allowed folder (when roots
    are given), exists, is a regular file, not empty, not larger than ``limits.max_bytes``."""
    p = check_path(path, allowed_roots) if allowed_roots is not None else as_path(path)
    name = basename(p)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise MediaError(f"{name}: file not found", code="missing", name=name) from None
    except (OSError, ValueError) as e:
        raise MediaError(f"{name}: the file cannot be accessed ({type(e).__name__})", code="bad_path",
                         name=name) from None
    if not stat.S_ISREG(st.st_mode):
        what = "a folder, not a regular file" if stat.S_ISDIR(st.st_mode) else \
            "not a regular file (a pipe, device or socket)"
        raise MediaError(f"{name} is {what}", code="not_a_file", name=name)
    if st.st_size == 0:
        raise MediaError(f"{name} is empty (0 bytes)", code="empty", name=name)
    if st.st_size > limits.max_bytes:
        raise MediaError(f"{name} is too large ({_size(st.st_size)}; the limit is {_size(limits.max_bytes)})",
                         code="too_large", name=name)
    if not os.access(p, os.R_OK):
        raise MediaError(f"{name}: permission denied", code="bad_path", name=name)
    return p



def load_number_array(p, name: str):
    """A .npy file -> its numeric array (memory-mapped, leading size-1 axes dropped); never unpickles."""
    try:
        arr = np.load(p, allow_pickle=False, mmap_mode="r")
    except ValueError as e:
        if "pickle" in str(e).lower() or "object" in str(e).lower():
            raise MediaError(f"{name} contains Python objects (a pickle); such files are refused for safety",
                             code="pickle", name=name) from None
        why = "truncated" if "mmap length" in str(e) else str(e)[:80]
        raise MediaError(f"{name} is not a readable .npy array ({why})", code="corrupt", name=name) from None
    except (OSError, EOFError) as e:
        raise MediaError(f"{name} is not a readable .npy array: truncated or corrupt ({type(e).__name__})",
                         code="corrupt", name=name) from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iuf":
        raise MediaError(f"{name}: the array must hold numbers, not {getattr(arr, 'dtype', type(arr))}",
                         code="bad_table", name=name)
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    return arr

def _size(n: int) -> str:
    for unit, f in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= f:
            return f"{n / f:.1f} {unit}"
    return f"{n} bytes"


def extension(path) -> str:
    return Path(os.fspath(path)).suffix.lower()


# ---------------------------------------------------------------- content sniffing

# family -> (human description, kind it belongs to: "image" | "audio" | "video" | "av" | "points" | "text")
FAMILIES = {
    "png": ("a PNG image", "image"), "jpeg": ("a JPEG image", "image"), "gif": ("a GIF image", "image"),
    "webp": ("a WebP image", "image"), "bmp": ("a BMP image", "image"), "tiff": ("a TIFF image", "image"),
    "wav": ("WAV audio", "audio"), "flac": ("FLAC audio", "audio"), "aiff": ("AIFF audio", "audio"),
    "mp3": ("MP3 audio", "audio"), "adts": ("AAC audio", "audio"),
    "ogg": ("an Ogg stream", "av"), "isobmff": ("an MP4/QuickTime container", "av"),
    "matroska": ("a Matroska/WebM container", "av"), "avi": ("an AVI video", "video"),
    "mpeg": ("an MPEG stream", "video"), "asf": ("an ASF/WMV container", "av"),
    "npy": ("a NumPy array", "points"), "ply": ("a PLY file", "points"), "glb": ("a binary glTF", "points"),
    "zip": ("a ZIP archive", None), "pdf": ("a PDF document", None), "elf": ("an executable", None),
    "exe": ("a Windows executable", None), "pickle": ("a Python pickle", None), "html": ("an HTML page", None),
    "text": ("text", "text"),
}


def sniff(path: Path) -> str | None:
    """Guess a file's format family from its first bytes; None when unknown."""
    with open(path, "rb") as f:
        head = f.read(4096)
    h = head
    if h.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if h.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if h[:4] == b"RIFF" and len(h) >= 12:
        return {b"WAVE": "wav", b"WEBP": "webp", b"AVI ": "avi"}.get(h[8:12])
    if h[:4] == b"FORM" and h[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if h.startswith(b"BM") and len(h) > 26:
        return "bmp"
    if h[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if h.startswith(b"fLaC"):
        return "flac"
    if h.startswith(b"OggS"):
        return "ogg"
    if h[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "isobmff"
    if h.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if h.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        return "asf"
    if h.startswith(b"\x00\x00\x01\xba") or h.startswith(b"\x00\x00\x01\xb3") or (
            len(h) > 376 and h[0] == h[188] == h[376] == 0x47):
        return "mpeg"
    if h.startswith(b"ID3") or (len(h) > 1 and h[0] == 0xFF and (h[1] & 0xE0) == 0xE0 and (h[1] & 0x06) != 0):
        return "mp3"
    if len(h) > 1 and h[0] == 0xFF and (h[1] & 0xF6) == 0xF0:
        return "adts"
    if h.startswith(b"\x93NUMPY"):
        return "npy"
    if h.startswith(b"ply\n") or h.startswith(b"ply\r\n"):
        return "ply"
    if h.startswith(b"glTF"):
        return "glb"
    if h.startswith(b"PK\x03\x04"):
        return "zip"
    if h.startswith(b"%PDF"):
        return "pdf"
    if h.startswith(b"\x7fELF"):
        return "elf"
    if h.startswith(b"MZ"):
        return "exe"
    if h[:1] == b"\x80" and h[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "pickle"
    if _is_text(h):
        low = h.lstrip()[:64].lower()
        return "html" if low.startswith((b"<!doctype html", b"<html")) else "text"
    return None


def _is_text(h: bytes) -> bool:
    if not h or b"\x00" in h:
        return False
    try:
        s = h.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(h) - 4:  # not just a multi-byte character cut at the end
            return False
        s = h[: e.start].decode("utf-8")
    printable = sum(c.isprintable() or c in "\r\n\t" for c in s)
    return printable >= 0.95 * max(1, len(s))


def check_content(path: Path, kind: str, allowed: set[str], binary_only: bool = True) -> str | None:
    """Refuse a file whose content is clearly of another kind than ``kind`` (e.g. text
    named .png, WAV audio named .mp4). Unknown content passes on to the decoder, which
    gives its own error. Returns the sniffed family."""
    fam = sniff(path)
    if fam is None or fam in allowed:
        return fam
    if fam == "text" and not binary_only:
        return fam
    desc = FAMILIES.get(fam, (fam, None))[0]
    name = basename(path)
    raise MediaError(f"{name} has the wrong content for its extension: it contains {desc}, not {_a(kind)}",
                     code="wrong_content", name=name)


def _a(kind: str) -> str:
    return {"image": "an image", "audio": "audio", "video": "a video", "points": "a point cloud or mesh",
            "imu": "an IMU trace"}.get(kind, kind)


# ---------------------------------------------------------------- timeout

def run_with_timeout(fn, timeout_s: float, what: str, name: str):
    """Run ``fn()`` in a worker thread and wait at most ``timeout_s`` seconds.

    On timeout raise MediaError ("decoding NAME took longer than N s"). Python cannot kill a
    thread, so a timed-out decode keeps running in the background (a daemon thread, so it
    never blocks interpreter exit) until the decoder returns; at most MAX_LINGERING such
    threads are allowed before new decodes are refused. Any exception inside ``fn`` other
    than MediaError becomes a MediaError naming the file, so no decoder traceback escapes.
    """
    global _lingering
    with _lingering_lock:
        if _lingering >= MAX_LINGERING:
            raise MediaError(f"{name}: the server is still busy with earlier slow files; try again later",
                             code="busy", name=name)
    fut: Future = Future()
    state = {"finished": False, "abandoned": False}  # guarded by _lingering_lock

    def work():
        global _lingering
        fut.set_running_or_notify_cancel()
        try:
            result = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the waiting thread
            fut.set_exception(e)
        else:
            fut.set_result(result)
        with _lingering_lock:
            state["finished"] = True
            if state["abandoned"]:
                _lingering -= 1

    threading.Thread(target=work, name=f"decode-{name}", daemon=True).start()
    try:
        try:
            return fut.result(timeout=timeout_s)
        except FutureTimeout:
            with _lingering_lock:
                if not state["finished"]:
                    state["abandoned"] = True
                    _lingering += 1
            if state["abandoned"]:
                raise MediaError(f"decoding {name} took longer than {timeout_s:g} s; the file may be corrupt or "
                                 f"too complex", code="timeout", name=name) from None
            return fut.result()
    except MediaError:
        raise
    except MemoryError:
        raise MediaError(f"{name} needs too much memory to {what}", code="corrupt", name=name) from None
    except Exception as e:  # noqa: BLE001 - decoder errors become user-facing messages
        raise MediaError(f"could not {what} {name}: the file is corrupt, truncated or not supported "
                         f"({_reason(e)})", code="corrupt", name=name) from None


def _reason(e: Exception) -> str:
    msg = str(e).splitlines()[0] if str(e) else ""
    msg = re.sub(r"^\[Errno -?\d+\]\s*", "", msg)
    # strip server paths a decoder may quote
    msg = msg.replace(os.sep, "/")
    words = [w if "/" not in w else basename(w.strip("'\":,")) for w in msg.split(" ")]
    msg = " ".join(words)
    return (f"{type(e).__name__}: {msg}" if msg else type(e).__name__)[:160]
