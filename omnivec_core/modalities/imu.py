"""imu: one second of an inertial sensor inside the object, (100 samples, 6 channels): acceleration
ax, ay, az in g and angular velocity gx, gy, gz in rad/s (ImageBind's seventh modality). Tokenized
as 1-D patches of 10 samples over time, so each token is a tenth of a second."""
from __future__ import annotations

from .base import Modality, View

PATCH = 10                  # samples per token
CHANNELS = ("ax (g)", "ay (g)", "az (g)", "gx (rad/s)", "gy (rad/s)", "gz (rad/s)")
RATE = 100                  # samples per second of OmniShapes' traces and of every trace the reader returns


class IMU(Modality):
    def input_dims(self, x, text_window: int) -> tuple[int, int, int, int, int]:
        return (x.shape[1], 1, 1, x.shape[2], 1)  # (B, T, C)

    def target_dim(self, cfg) -> int:
        return PATCH * len(CHANNELS)

    def mae_target(self, cfg, x, extras):
        return x.reshape(x.shape[0], -1, PATCH * x.shape[2])  # (B, T, C) -> (B, T/p, p*C), time-major

    def target_to_input(self, cfg, tokens, like):
        return tokens.reshape(like.shape)

    def show_range(self, x):
        return x

    def view(self, x) -> View:
        return View("trace", x, rate=RATE, channels=CHANNELS)

    def describe_stem(self, cfg) -> str:
        return f"1-D patches of {PATCH} samples"

    def view_heat(self, scores, grid, x, extras):
        return scores.reshape(-1).repeat_interleave(PATCH)[: x.shape[0]]  # (steps,) -> (T,) one per sample

    def token_name(self, index, grid):
        return f"{index * PATCH / RATE:.1f}-{(index + 1) * PATCH / RATE:.1f} s"


IMU_SENSOR = IMU("imu", "imu", len(CHANNELS), RATE, 1, 1, 1, RATE // PATCH, (RATE // PATCH, 1), ("motion", "speed"),
                 anchor_rank=5, value_range=None, mask_ratio=0.5, view_kind="trace", reads=("imu",),
                 queries=("imu",), out_of_world=(0.89, 0.97), label="IMU (6 axes, 100 Hz)")
