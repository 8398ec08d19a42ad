"""Sound: batched waveform synthesis and a pure-torch log-mel spectrogram.

Timbre from shape (a partial recipe per shape), base pitch from colour, a contour from
motion, loudness from size, and a sharp attack at the start of every flash frame (time
``frame / T`` of the clip), so audio onsets line up with what the video shows.
"""
from __future__ import annotations

import math

import torch

from .world import MOTIONS, PITCH_HZ, SIZE_RANGES, CounterRNG, Events

# Per-shape partials: frequency ratios to the base pitch, relative amplitudes, and the
# amount of band-limited noise around the base pitch (the "noise-burst-ish" timbre).
_RECIPES = (
    ((1, 2, 3, 4, 5, 6), (1.0, 0.06, 0, 0, 0, 0), 0.0),  # circle: pure sine
    ((1, 3, 5, 7, 9, 11), (1.0, 1 / 3, 1 / 5, 1 / 7, 1 / 9, 1 / 11), 0.0),  # square: square-ish
    ((1, 2, 3, 4, 5, 6), (1.0, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6), 0.0),  # triangle: saw-ish
    ((1, 2.76, 5.40, 8.93, 13.34, 0.5), (1.0, 0.6, 0.4, 0.25, 0.12, 0.3), 0.0),  # ring: bell
    ((1, 2, 4, 8, 3, 6), (1.0, 0.7, 0.5, 0.3, 0.15, 0.1), 0.0),  # diamond: organ octaves
    ((1, 1.5, 2, 3, 4.5, 6), (1.0, 0.8, 0.3, 0.3, 0.2, 0.1), 0.0),  # hexagon: fifth dyad
    ((1, 2, 3, 4, 5, 6), (0.6, 0, 0, 0, 0, 0), 1.0),  # cross: noise band around the pitch
    ((1, 2, 3, 4, 5, 6), (0.3, 0.2, 1.0, 0.2, 0.6, 0.1), 0.0),  # pill: nasal, strong 3rd
)
_WRAP = 100.0  # partial ratios must be multiples of 1 / _WRAP
NOISE_FLOOR = 0.003  # faint white noise on every clip
ONSET_DECAY_S = 0.08  # decay of the flash onset burst
CLICK_DECAY_S = 0.008  # decay of the noisy click at each onset
HIT_DECAY_S = 0.06  # decay of each bounce hit
VIBRATO_PER_REV = 8.0  # spin: vibrato cycles per revolution of the object
_TABLE_LEN = 1 << 15
_tables: dict = {}


def _noise_tables(n: int, sample_rate: int, device):
    """White and low-passed (~400 Hz) noise tables of length ``_TABLE_LEN + n``, cached.
    Made by the counter RNG, so they are identical on every device."""
    key = (n, sample_rate, str(device))
    if key not in _tables:
        length = _TABLE_LEN + n
        rng = CounterRNG(0, torch.zeros(1, dtype=torch.long, device=device))
        white = (rng.uniform("noise_table", length)[0] * 2.0 - 1.0) * math.sqrt(3.0)
        spec = torch.fft.rfft(white.double())
        freqs = torch.fft.rfftfreq(length, d=1.0 / sample_rate).to(device)
        spec = spec * torch.exp(-0.5 * (freqs / 400.0) ** 2)
        low = torch.fft.irfft(spec, n=length).float()
        low = low / low.std()
        _tables[key] = (white.unfold(0, n, 1), low.unfold(0, n, 1))  # (_TABLE_LEN + 1, n) views
    return _tables[key]


def synth_waveform(ev: Events, sample_rate: int, duration_s: float) -> torch.Tensor:
    """(B, S) float32 waveform in [-1, 1]."""
    dev = ev.radius.device
    n = int(round(sample_rate * duration_s))
    f32 = torch.float32
    u = (torch.arange(n, device=dev, dtype=f32) / n)[None, :]  # clip time in [0, 1)
    m = ev.motion
    is_ = lambda k: (m == MOTIONS.index(k)).to(f32)[:, None]  # noqa: E731
    speed = ev.speed[:, None]
    rng = ev.rng

    # Pitch contour -> phase (in cycles): glide (up/down) and vibrato (spin), closed form.
    f0 = torch.tensor(PITCH_HZ, device=dev)[ev.colour][:, None] * (1.0 + 0.01 * (2.0 * rng.uniform("detune")[:, None] - 1.0))
    glide = (is_("up") - is_("down")) * (0.35 + 0.35 * speed) * math.log(2.0)  # log-freq change per clip
    has_glide = glide != 0
    g = torch.where(has_glide, glide, torch.ones_like(glide))
    warp = torch.where(has_glide, torch.expm1(g * u) / g, u)
    vib_rate = VIBRATO_PER_REV * ev.spin_rate.abs()[:, None]  # cycles per clip
    vib_depth = is_("spin") * 0.03
    nu = 2.0 * math.pi * vib_rate.clamp(min=1e-3)
    warp = warp + vib_depth * (1.0 - torch.cos(nu * u)) / nu
    cycles = (f0 * duration_s) * warp
    # Wrap modulo _WRAP cycles: exact for every partial ratio (all multiples of 1/_WRAP) and
    # keeps sin() arguments small for float32 accuracy.
    phase = (cycles - _WRAP * torch.floor(cycles * (1.0 / _WRAP))) * (2.0 * math.pi)

    # Partials (timbre from shape), dropping any above 7.6 kHz at the highest pitch reached.
    ratios = torch.tensor([r[0] for r in _RECIPES], dtype=f32, device=dev)[ev.shape]  # (B, K)
    amps = torch.tensor([r[1] for r in _RECIPES], dtype=f32, device=dev)[ev.shape]
    noise_amt = torch.tensor([r[2] for r in _RECIPES], dtype=f32, device=dev)[ev.shape][:, None]
    f_top = f0 * torch.exp(glide.clamp(min=0.0)) * (1.0 + vib_depth)
    amps = amps * (ratios * f_top < 0.95 * sample_rate / 2)
    amps = amps / (amps.sum(1, keepdim=True) + noise_amt)
    offsets = rng.integers("noise_offset", _TABLE_LEN + 1)
    white_t, low_t = _noise_tables(n, sample_rate, dev)
    s1 = torch.sin(phase)
    tone = s1 * amps[:, :1]
    for k in range(1, ratios.shape[1]):
        tone.addcmul_(torch.sin(phase * ratios[:, k:k + 1]), amps[:, k:k + 1])
    noisy = (noise_amt[:, 0] > 0).nonzero().flatten()  # band noise only where the recipe has it
    if noisy.numel():
        band = low_t[(offsets[noisy] + 7919) % (_TABLE_LEN + 1)].mul_(s1[noisy])
        tone[noisy] = tone[noisy].addcmul_(band, noise_amt[noisy] * 0.5)

    # Amplitude contour from motion: tremolo (left slow, right fast), bounce hits,
    # crescendo (grow), decrescendo (shrink).
    trem_rate = is_("left") * (3.0 + 1.5 * speed) + is_("right") * (8.0 + 3.0 * speed)
    trem_depth = (is_("left") + is_("right")) * 0.225
    env = 1.0 - trem_depth + trem_depth * torch.cos((2.0 * math.pi * duration_s) * trem_rate * u)
    env = env - (0.75 * is_("grow")) * (1.0 - u) - (0.75 * is_("shrink")) * u
    hop = ev.hop_rate[:, None].clamp(min=1e-3)
    since_hit = (u * hop).frac() / hop * duration_s  # seconds since the last bounce contact
    is_b = is_("bounce")
    env = env * (1.0 - 0.75 * is_b) + (0.75 * is_b) * torch.exp(since_hit * (-1.0 / HIT_DECAY_S))

    # Onsets: sharp attack at the start of each flash frame, decaying over ~80 ms.
    t_frames = ev.frames
    frame_of = (u * t_frames).floor().long().clamp_(max=t_frames - 1)  # (1, S)
    idx = torch.arange(t_frames, device=dev)
    last = torch.where(ev.flash, idx, torch.full_like(idx, -1).expand_as(ev.flash)).cummax(dim=1).values  # (B, T)
    last_at = last[:, frame_of[0]]  # (B, S) most recent flash frame, -1 if none yet
    since = (u - last_at.to(f32) / t_frames) * duration_s
    active = (last_at >= 0).to(f32)
    burst = torch.exp(since * (-1.0 / ONSET_DECAY_S)).mul_(active)
    click = torch.exp(since * (-1.0 / CLICK_DECAY_S)).mul_(active)

    loud = 0.25 + 2.0 * (ev.radius[:, None] - SIZE_RANGES[0][0])  # louder for larger objects
    wave = tone.mul_(env.mul_(0.45).add_(burst, alpha=0.55)).mul_(loud)
    white = white_t[offsets]
    wave.addcmul_(white, click.mul_(0.12 * loud).add_(NOISE_FLOOR))
    return wave.clamp_(-1.0, 1.0)


def recorded(wave: torch.Tensor, ev: Events) -> torch.Tensor:
    """A varied look's recording of the (B, S) waveform: its gain and white noise at its sound-to-noise
    ratio (the plain world's gain 0 dB and infinite ratio leave it as it is)."""
    look = ev.look
    gain = torch.pow(10.0, look.gain_db / 20.0)[:, None]
    rms = wave.square().mean(1, keepdim=True).sqrt()
    noise_rms = torch.where(torch.isinf(look.snr_db), 0.0, rms[:, 0] * torch.pow(10.0, -look.snr_db / 20.0))
    noise = (ev.rng.uniform("look_sound_noise", wave.shape[1]) - 0.5) * math.sqrt(12.0)
    return (wave * gain + noise * (noise_rms * gain[:, 0])[:, None]).clamp_(-1.0, 1.0)
