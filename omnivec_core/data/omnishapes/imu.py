"""IMU: the event's motion as a 6-channel inertial trace, as a sensor inside the object would
record it (ImageBind's IMU modality: 3-axis accelerometer + 3-axis gyroscope).

Output ``(B, T, 6)`` float32, ``T = round(rate * duration_s)`` (100 at the defaults), sample
``k`` at time ``k / rate`` s, i.e. clip time ``u = k / (rate * duration_s)`` as in video and
audio. Channels ``[ax, ay, az, gx, gy, gz]`` in the object's own (body) frame:

* ``ax, ay, az``: specific force (what an accelerometer reads: acceleration minus gravity) in
  units of g = 9.81 m/s^2, with the scene scaled so that the image half-width is
  ``SCENE_M`` = 0.5 m. At rest the sensor reads gravity, ``(sin a, cos a, 0)`` g for an object
  rotated by ``a``. The linear motions (left/right/up/down) start from rest at ``t = 0`` and
  stop at the end of the clip, so they show as a start impulse and an opposite end impulse
  along their direction, whose size is the speed (peaks 0.35-1.45 g); the impulses are centred
  on the clip's first and last instant, so half of each lies inside the 1 s window. Bounce
  gives the near free fall of each hop (ay drops to about 0.2 g) and sharp upward impacts at
  every ground contact (peaks of 4-10 g). Grow/shrink is motion towards/away from the camera
  (along +z/-z; camera ``CAMERA_DISTANCE`` away, apparent size inversely proportional to
  distance): ``az`` impulses, positive at the start for grow, negative for shrink (0.8-1.4 g).
  Spin rotates the body frame, so gravity turns through ``ax, ay``.
* ``gx, gy, gz``: angular velocity in rad/s. Only spin turns the object: ``gz`` is
  ``2 pi spin_rate / duration_s`` (2-4 rad/s) during the clip, 0 outside.
* Every kinematic signal is smoothed by a Gaussian of ``SMOOTH_S`` (sigma 15 ms, 35 ms full
  width at half maximum; the sensor's bandwidth), so impulses span a few samples.
* At every flash frame ``f`` (time ``f / frames * duration_s``, exactly where the video
  flashes and the audio has its onset) a decaying 25-40 Hz vibration burst (``VIB_DECAY_S``
  15 ms, about 40 ms long) starts on the three accelerometer axes: instance-level timing.
* Sensor noise: white Gaussian noise on every sample (``NOISE_ACC`` g, ``NOISE_GYRO`` rad/s)
  and a constant per-event bias per channel.

Shape and colour never enter (an IMU cannot see them). Deterministic per (seed, event index)
through the counter RNG (streams ``imu_*``, used nowhere else), so rendering IMU changes no
other modality.
"""
from __future__ import annotations

import math

import torch

from .world import Events

G = 9.81  # m/s^2 per g
SCENE_M = 0.5  # metres per scene unit (the image half-width)
SMOOTH_S = 0.015  # Gaussian smoothing (sigma, seconds) of all kinematic signals
CAMERA_DISTANCE = 2.0  # scene units; grow/shrink = approach/recede along z from this distance
VIB_HZ = (25.0, 40.0)  # flash vibration frequency range
VIB_DECAY_S = 0.015  # flash vibration decay (amplitude e-folding time)
VIB_AMP = (0.4, 0.6)  # flash vibration amplitude range, g
NOISE_ACC = 0.02  # accelerometer white noise, g (std)
NOISE_GYRO = 0.02  # gyroscope white noise, rad/s (std)
BIAS_ACC = 0.03  # accelerometer bias, uniform in +-BIAS_ACC g
BIAS_GYRO = 0.02  # gyroscope bias, uniform in +-BIAS_GYRO rad/s
CHANNELS = ("ax", "ay", "az", "gx", "gy", "gz")
UNITS = ("g", "g", "g", "rad/s", "rad/s", "rad/s")

_FINE_STEP_S = SMOOTH_S / 15  # quadrature step of the smoothing integrals
_REACH = 6.0  # kernel support in sigmas
_kernels: dict = {}


def _smoothing_kernels(rate: int, duration_s: float, device):
    """Fine time grid (F,) and quadrature weights (T, F) of the first and second derivative of
    the smoothing Gaussian evaluated at ``t_k - tau_j``, in float64, cached.

    Smoothed derivative of a signal x: ``(x * G')(t) = sum_j x(tau_j) G'(t - tau_j) dtau``
    (and G'' for the second derivative), exact for kinks in x, no finite differences."""
    key = (int(rate), float(duration_s), str(device))
    if key not in _kernels:
        n_out = int(round(rate * duration_s))
        margin = _REACH * SMOOTH_S
        n_fine = int(math.ceil((duration_s + 2 * margin) / _FINE_STEP_S)) + 1
        tau = -margin + torch.arange(n_fine, dtype=torch.float64, device=device) * _FINE_STEP_S
        t = torch.arange(n_out, dtype=torch.float64, device=device) / rate
        d = t[:, None] - tau[None, :]  # (T, F)
        s2 = SMOOTH_S * SMOOTH_S
        gauss = torch.exp(-0.5 * d * d / s2) / (SMOOTH_S * math.sqrt(2.0 * math.pi)) * _FINE_STEP_S
        d1 = -d / s2 * gauss  # G'(d) dtau
        d2 = (d * d / s2 - 1.0) / s2 * gauss  # G''(d) dtau
        _kernels[key] = (tau, d1, d2)
    return _kernels[key]


def _gaussian(rng, stream: str, *shape: int) -> torch.Tensor:
    """Standard normal values (Box-Muller on two counter-RNG streams), (B, *shape)."""
    u1 = 1.0 - rng.uniform(stream + "_u1", *shape)  # (0, 1]
    u2 = rng.uniform(stream + "_u2", *shape)
    return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos((2.0 * math.pi) * u2)


def render_imu(ev: Events, rate: int = 100, duration_s: float = 1.0) -> torch.Tensor:
    """(B, T, 6) float32 IMU traces ``[ax, ay, az]`` (g) + ``[gx, gy, gz]`` (rad/s), body frame,
    ``T = round(rate * duration_s)``, sample k at ``k / rate`` seconds. See the module doc."""
    dev = ev.radius.device
    b = len(ev)
    n_out = int(round(rate * duration_s))
    tau, k1, k2 = _smoothing_kernels(rate, duration_s, dev)
    f64 = torch.float64

    # Pose on the fine grid; at rest (clip start / end pose) outside the clip.
    u_fine = (tau / duration_s).clamp(0.0, 1.0).float()
    centre, scale, angle = ev.trajectory(u_fine)  # (B, F, 2), (B, F), (B, F)
    z = CAMERA_DISTANCE * (1.0 - ev.visual_radius[:, None] / scale)  # towards the camera: + for grow
    pos = torch.cat((centre, z[..., None]), dim=-1).to(f64) * SCENE_M  # (B, F, 3) metres
    pos = pos - pos[:, :1]  # smaller numbers for the quadrature (constants have zero 2nd derivative)
    acc = torch.einsum("bfc,tf->btc", pos, k2)  # (B, T, 3) m/s^2, world frame (x right, y up, z out)
    ang0 = angle[:, :1].to(f64)
    omega = ((angle.to(f64) - ang0) @ k1.T)  # (B, T) rad/s, smoothed dtheta/dt

    # Angle at the sample times (exact pose, no smoothing needed for the projection).
    t_out = torch.arange(n_out, device=dev, dtype=torch.float32) / rate
    _, _, theta = ev.trajectory((t_out / duration_s).clamp(0.0, 1.0))
    theta = theta.to(f64)

    # Specific force f = a - g_vec = a + (0, g, 0), rotated into the body frame (rotation about z).
    fx, fy, fz = acc[..., 0], acc[..., 1] + G, acc[..., 2]
    c, s = torch.cos(theta), torch.sin(theta)
    ax = (fx * c + fy * s) / G
    ay = (-fx * s + fy * c) / G
    az = fz / G
    zeros = torch.zeros_like(omega)
    trace = torch.stack((ax, ay, az, zeros, zeros, omega), dim=-1).float()  # (B, T, 6)

    # Flash vibration bursts: start exactly at each flash frame's time, decaying.
    rng = ev.rng
    f_vib = VIB_HZ[0] + (VIB_HZ[1] - VIB_HZ[0]) * rng.uniform("imu_vib_hz")  # (B,)
    f_vib = f_vib.clamp(max=0.4 * rate)  # stay below Nyquist at low rates
    amp = VIB_AMP[0] + (VIB_AMP[1] - VIB_AMP[0]) * rng.uniform("imu_vib_amp")
    phi0 = (2.0 * math.pi) * rng.uniform("imu_vib_phase")
    t_flash = torch.arange(ev.frames, device=dev, dtype=torch.float32) * (duration_s / ev.frames)  # (Tv,)
    since = t_out[None, :, None] - t_flash[None, None, :]  # (1, T, Tv) seconds since each frame start
    on = (since >= 0) & ev.flash[:, None, :]  # (B, T, Tv)
    env = torch.where(on, torch.exp(-since.clamp(min=0.0) / VIB_DECAY_S), 0.0)
    arg = (2.0 * math.pi) * f_vib[:, None, None] * since  # (B, T, Tv)
    axis_phase = torch.tensor((0.0, 2.0 * math.pi / 3, 4.0 * math.pi / 3), device=dev)
    vib = (env[..., None] * torch.cos(arg[..., None] + phi0[:, None, None, None] + axis_phase)).sum(2)  # (B, T, 3)
    trace[..., :3] += amp[:, None, None] * vib

    # Sensor noise: white Gaussian per sample, constant bias per event and channel.
    scale_ch = torch.tensor((NOISE_ACC,) * 3 + (NOISE_GYRO,) * 3, device=dev)
    bias_ch = torch.tensor((BIAS_ACC,) * 3 + (BIAS_GYRO,) * 3, device=dev)
    noise = _gaussian(rng, "imu_noise", n_out, 6) * scale_ch
    bias = (2.0 * rng.uniform("imu_bias", 6) - 1.0) * bias_ch
    trace += noise + bias[:, None, :]
    trace = trace * ev.look.imu_gain[:, None, None] + ev.look.imu_noise[:, None, None] * _gaussian(
        rng, "look_imu_noise", n_out, 6)
    assert trace.shape == (b, n_out, 6)
    return trace.contiguous()
