"""IMU traces: a CSV table or a .npy array (never a pickle) -> the model input of the imu
modality, float32 (100, 6) = 1 s at 100 Hz, channels ax, ay, az (g), gx, gy, gz (rad/s), as
``omnishapes.imu.render_imu`` makes them.

CSV: comma, semicolon (a decimal comma is then allowed), tab or space separated; an optional
header row; ``#`` or ``//`` comment lines; 6 columns ``ax ay az gx gy gz``, or 7 with a leading
time column (seconds, or milliseconds/microseconds/nanoseconds when the header names it so,
e.g. ``time_ms``). A time column must increase from row to row; it gives the sample rate
(irregular sampling is fine). Without one, 100 Hz is assumed and a note says so. .npy: a
numeric (T, 6) or (T, 7) array, same rules, loaded with ``allow_pickle=False``.

The trace is resampled to 100 Hz by linear interpolation and its first second is kept; a
shorter trace is padded with its last value. Accelerations that look like m/s^2 (median
magnitude near 9.8) are converted to g. Only the first second (plus one sample) of a long CSV
is parsed.
"""
from __future__ import annotations

import math
import re

import numpy as np
import torch

from ...modalities.audio import DURATION_S
from ...modalities.imu import RATE
from ...modalities.loaded import Loaded, MediaError
from .common import (LIMITS, ReaderLimits, basename, check_content, check_file, extension, load_number_array,
                     run_with_timeout)

IMU_EXTS = (".csv", ".npy")
SECONDS = DURATION_S
N_OUT = int(round(RATE * SECONDS))
MIN_SAMPLES = 10
MIN_RATE, MAX_RATE = 10.0, 20_000.0  # Hz accepted from a time column
G = 9.81
CHANNELS = "ax, ay, az, gx, gy, gz"
_FAMILIES = {".csv": {"text"}, ".npy": {"npy"}}
_TIME_UNITS = {**dict.fromkeys(("ms", "msec", "millis", "millisecond", "milliseconds"), 1e-3),
               **dict.fromkeys(("us", "µs", "usec", "micros", "microsecond", "microseconds"), 1e-6),
               **dict.fromkeys(("ns", "nsec", "nanos", "nanosecond", "nanoseconds"), 1e-9)}
_TIME_NAMES = re.compile(r"^(t|time|times|timestamp|timestamps|sec|secs|seconds|s|elapsed)([_ \-\[(]|$)")
_IMU_NAMES = re.compile(r"(acc|gyr|gyro|omega|^a[_ ]?[xyz]\b|^g[_ ]?[xyz]\b|^w[_ ]?[xyz]\b)")


def read_imu(path, limits: ReaderLimits = LIMITS, *, allowed_roots=None) -> Loaded:
    """A .csv or .npy IMU trace -> Loaded("imu", float32 (100, 6)): 1 s at 100 Hz, ax, ay, az
    in g and gx, gy, gz in rad/s. Raises MediaError naming the file and the problem."""
    p = check_file(path, limits, allowed_roots)
    name = basename(p)
    ext = extension(p)
    if ext not in IMU_EXTS:
        raise MediaError(f"{name}: unsupported IMU trace type '{ext or '(none)'}'; supported: {', '.join(IMU_EXTS)}",
                         code="unsupported", name=name)
    check_content(p, "imu", _FAMILIES[ext])
    return load_imu(p, limits, [])


def load_imu(p, limits: ReaderLimits, notes: list[str]) -> Loaded:
    """Decode an already checked .csv/.npy file (``read_imu`` without the checks)."""
    name = basename(p)
    ext = extension(p)
    loader = _load_npy if ext == ".npy" else _load_csv
    t, x = run_with_timeout(lambda: loader(p, name, notes), limits.decode_timeout_s, "read the IMU trace", name)
    return Loaded("imu", resample_trace(t, x, name, notes), None, notes, name)


# ---------------------------------------------------------------- CSV

def _load_csv(p, name: str, notes: list[str]):
    """(times in seconds or None, values (N, 6)) from the first second (+1 sample) of a CSV."""
    with open(p, "rb") as f:
        if b"\x00" in f.read(65536):
            raise MediaError(f"{name} is not a text table (it contains binary data)", code="bad_table", name=name)
        f.seek(0)
        return _parse_csv(f, name, notes)


def _parse_csv(f, name: str, notes: list[str]):
    delim = None
    header: list[str] | None = None
    rows: list[list[float]] = []
    row_lines: list[int] = []
    ncol = None
    t_scale = 1.0
    full = False  # the first second is covered
    for lineno, raw in enumerate(f, start=1):  # lazily: only the first second is parsed
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            s = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            s = raw.decode("latin-1").strip()  # e.g. a header with a degree sign in a legacy encoding
        if not s or s.startswith(("#", "//")):
            continue
        if full:  # there is more: say that only the first second is used
            notes.append(f"using the first {SECONDS:g} s of the trace")
            break
        if delim is None:
            delim = "," if "," in s and ";" not in s else ";" if ";" in s else "\t" if "\t" in s else None
        cells = _split(s, delim)
        numeric = [_is_number(c, delim) for c in cells]
        if not rows and header is None and not any(numeric) and any(_has_letter(c) for c in cells):
            header = [c.strip().strip("\"'").lower() for c in cells]
            continue
        if not any(numeric):
            raise MediaError(f"{name} is not a table of numbers: row {lineno} is {s[:30]!r}; an IMU trace needs rows "
                             f"of 6 numbers ({CHANNELS})", code="bad_table", name=name)
        if ncol is None:
            ncol = len(cells)
            if ncol not in (6, 7):
                raise MediaError(f"{name}: row {lineno} has {ncol} values, an IMU trace needs 6 ({CHANNELS}), "
                                 f"optionally after a time column", code="bad_table", name=name)
            if ncol == 7 and header:
                t_scale = _time_unit(header[0])
        elif len(cells) != ncol:
            raise MediaError(f"{name}: row {lineno} has {len(cells)} values, but the rows above have {ncol} "
                             f"({'time + ' if ncol == 7 else ''}{CHANNELS})", code="bad_table", name=name)
        vals = []
        for j, c in enumerate(cells, start=1):
            v = _number(c, delim)
            if v is None:
                shown = c.strip()[:20]
                raise MediaError(f"{name}: row {lineno}, column {j} is not a number ({shown!r})", code="bad_table",
                                 name=name)
            vals.append(v)
        if not all(math.isfinite(v) for v in vals):
            raise MediaError(f"{name}: row {lineno} has a NaN or infinite value", code="not_finite", name=name)
        rows.append(vals)
        row_lines.append(lineno)
        full = _enough(rows, ncol, t_scale)
    if not rows:
        raise MediaError(f"{name} has no data rows (an IMU trace needs rows of 6 numbers: {CHANNELS})",
                         code="empty", name=name)
    arr = np.asarray(rows, dtype=np.float64)
    return _split_time(arr, name, notes, t_scale, lambda i: f"row {row_lines[i]}")


def _split(s: str, delim: str | None) -> list[str]:
    cells = s.split(delim) if delim else s.split()
    if delim and len(cells) > 1 and not cells[-1].strip():  # a trailing separator
        cells = cells[:-1]
    return cells


def _has_letter(c: str) -> bool:
    return any(ch.isalpha() for ch in c)


def _number(c: str, delim: str | None) -> float | None:
    c = c.strip().strip("\"'")
    if delim == ";" and "," in c and "." not in c:
        c = c.replace(",", ".")  # decimal comma
    try:
        return float(c)
    except ValueError:
        return None


def _is_number(c: str, delim: str | None) -> bool:
    return _number(c, delim) is not None


def _time_unit(col: str) -> float:
    """Seconds per unit of a time column named ``col`` ("time_ms", "t [us]", ...; default s)."""
    for word in re.split(r"[^a-zµ]+", col):
        if word in _TIME_UNITS:
            return _TIME_UNITS[word]
    return 1.0


def _enough(rows, ncol: int, t_scale: float) -> bool:
    """Whether the rows so far cover the first second: N_OUT + 1 rows without a time column;
    with one, a row past the first second (or MAX_RATE rows, a cap; the rate check refuses)."""
    if ncol == 6:
        return len(rows) > N_OUT
    return len(rows) > MAX_RATE * SECONDS + 1 or (rows[-1][0] - rows[0][0]) * t_scale > SECONDS


# ---------------------------------------------------------------- .npy

def _load_npy(p, name: str, notes: list[str]):
    arr = load_number_array(p, name)
    if arr.ndim == 2 and arr.shape[1] not in (6, 7) and arr.shape[0] == 6 and arr.shape[1] >= MIN_SAMPLES:
        arr = arr.T
        notes.append("array was (6, T); transposed to (T, 6)")
    if arr.ndim != 2 or arr.shape[1] not in (6, 7):
        raise MediaError(f"{name}: expected a (T, 6) array ({CHANNELS}), or (T, 7) with time first; got shape "
                         f"{tuple(arr.shape)}", code="bad_table", name=name)
    if arr.shape[1] == 7 and arr.shape[0] > 1:
        t = np.asarray(arr[:, 0], dtype=np.float64)
        n = int(np.searchsorted(t, t[0] + SECONDS, side="right")) + 1 if np.all(np.diff(t[:64]) > 0) else len(t)
    else:
        n = N_OUT + 1
    if arr.shape[0] > n:
        notes.append(f"using the first {SECONDS:g} s of the trace")
    arr = np.array(arr[:n], dtype=np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise MediaError(f"{name}: sample {i} has a NaN or infinite value", code="not_finite", name=name)
    return _split_time(arr, name, notes, 1.0, lambda i: f"sample {i}")


# ---------------------------------------------------------------- shared

def _split_time(arr: np.ndarray, name: str, notes: list[str], t_scale: float, where):
    """(times in seconds from 0, or None; values (N, 6)) from a (N, 6|7) array."""
    if arr.shape[1] == 6:
        notes.append(f"no time column: assumed {RATE} Hz")
        return None, arr
    t = arr[:, 0] * t_scale
    steps = np.diff(t)
    if steps.size and not (steps > 0).all():
        i = int(np.argmax(~(steps > 0))) + 1
        raise MediaError(f"{name}: 7 columns, but the first is not an increasing time column ({where(i)} does not "
                         f"come after the one before); an IMU trace needs 6 columns ({CHANNELS}), optionally after "
                         f"time in seconds", code="bad_table", name=name)
    if steps.size:
        rate = 1.0 / float(np.median(steps))
        if not MIN_RATE <= rate <= MAX_RATE:
            hint = " (if the time is in milliseconds, name the column time_ms)" if rate < MIN_RATE else ""
            raise MediaError(f"{name}: the time column gives a rate of {rate:.3g} Hz; {MIN_RATE:g} to "
                             f"{MAX_RATE:g} Hz are supported{hint}", code="bad_rate", name=name)
        notes.append(f"time column: {rate:.4g} Hz" + ("" if abs(rate - RATE) < 0.01 * RATE else
                                                       f", resampled to {RATE} Hz"))
    return t - t[0], arr[:, 1:]


def resample_trace(t, x: np.ndarray, name: str, notes: list[str]) -> torch.Tensor:
    """Times (N,) in seconds from 0 (None: RATE Hz) and values (N, 6) -> float32 (100, 6):
    linear interpolation at k / RATE, padded with the last value past the end."""
    n = x.shape[0]
    if n < MIN_SAMPLES:
        raise MediaError(f"{name}: only {n} sample{'s' if n != 1 else ''}; an IMU trace needs at least "
                         f"{MIN_SAMPLES}", code="too_short", name=name)
    if t is None:
        t = np.arange(n, dtype=np.float64) / RATE
    grid = np.arange(N_OUT, dtype=np.float64) / RATE
    out = np.stack([np.interp(grid, t, x[:, c]) for c in range(6)], axis=1)
    span = float(t[-1])
    if span < grid[-1] - 1e-9:
        notes.append(f"trace is {span + (t[1] - t[0] if n > 1 else 0):.2f} s long, shorter than {SECONDS:g} s: "
                     f"padded with its last value")
    acc = np.linalg.norm(out[:, :3], axis=1)
    if 7.0 <= float(np.median(acc)) <= 12.5:
        out[:, :3] /= G
        notes.append("accelerations look like m/s² (about 9.8 at rest); converted to g")
    return torch.from_numpy(out.astype(np.float32))


def looks_like_imu(path) -> bool:
    """Whether a .csv/.npy file (already checked) clearly holds an IMU trace rather than
    points: the name ends in "imu" (``walk_imu.csv``, ``trace.imu.npy``), a CSV header names
    IMU channels (acc*, gyr*, ax, gx, ...) or a time column, or there are 7 columns whose
    first increases. Never raises; anything unclear is False (read as points)."""
    try:
        from pathlib import Path

        p = Path(path)
        stem = p.name[: -len(p.suffix)] if p.suffix else p.name
        if stem.lower().endswith("imu"):
            return True
        if extension(p) == ".npy":
            arr = np.load(p, allow_pickle=False, mmap_mode="r")
            if arr.ndim != 2 or arr.shape[1] != 7 or arr.dtype.kind not in "iuf" or arr.shape[0] < MIN_SAMPLES:
                return False
            return bool(np.all(np.diff(np.asarray(arr[:64, 0], dtype=np.float64)) > 0))
        with open(p, "rb") as f:
            head = f.read(65536).decode("utf-8-sig", errors="replace")
        lines = [s.strip() for s in head.splitlines()[:-1] or head.splitlines()]
        lines = [s for s in lines if s and not s.startswith(("#", "//"))][:64]
        if not lines:
            return False
        s0 = lines[0]
        delim = "," if "," in s0 and ";" not in s0 else ";" if ";" in s0 else "\t" if "\t" in s0 else None
        first = [c.strip().strip("\"'").lower() for c in _split(s0, delim)]
        if not any(_is_number(c, delim) for c in first) and any(_has_letter(c) for c in first):  # a header
            names = [c for c in first if c]
            if len(names) in (6, 7) and (any(_IMU_NAMES.search(c) for c in names)
                                         or (len(names) == 7 and _TIME_NAMES.match(names[0]))):
                return True
            return False
        rows = [[_number(c, delim) for c in _split(s, delim)] for s in lines]
        if len(rows) < 3 or any(len(r) != 7 or None in r for r in rows):
            return False
        t = [r[0] for r in rows]
        return all(b > a for a, b in zip(t, t[1:]))
    except Exception:  # noqa: BLE001 - a guess only; the reader gives the real error
        return False
