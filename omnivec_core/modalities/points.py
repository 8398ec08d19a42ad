"""points: a point cloud (1024, 3), centred, farthest point at 1; tokenized as 64 farthest-point groups
of nearest neighbours, each read by a mini-PointNet (Point-MAE). Reconstruction is judged by Chamfer
distance, segmentation is per point."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import patches
from .base import Modality, View

N_POINTS = 1024  # points of a cloud: the renderer draws, and a reader samples, this many
GROUPS = 64  # point tokens at the default ModelConfig.point_groups


def normalize_cloud(points: torch.Tensor) -> torch.Tensor:
    """(..., N, 3) -> the same clouds centred at their mean, the farthest point at distance 1: the one frame
    every cloud enters the model in, whether the renderer drew it or a reader loaded a mesh file."""
    centred = points - points.mean(-2, keepdim=True)
    radius = torch.linalg.vector_norm(centred, dim=-1).amax(-1, keepdim=True)  # (..., 1)
    return centred / radius.clamp(min=1e-12)[..., None]


def chamfer(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Symmetric Chamfer distance between point sets (..., k, 3) -> (...)."""
    distance = torch.cdist(prediction, target).square()  # (..., k, k)
    return distance.min(-1).values.mean(-1) + distance.min(-2).values.mean(-1)


class Points(Modality):
    score_name = "Chamfer (lower is better)"
    metric = "chamfer"
    positions_from_centres = True  # a hidden group keeps its centre: the decoder's position for it

    def input_dims(self, x, text_window: int) -> tuple[int, int, int, int, int]:
        return (1, 1, 1, x.shape[2], x.shape[1])  # (B, N, 3)

    def stem_crosses_patches(self, cfg) -> bool:
        return False  # groups are cut before their PointNet, which reads only its own points

    def target_dim(self, cfg) -> int:
        return cfg.point_group_size * 3

    def mae_target(self, cfg, x, extras):
        return extras["local"].flatten(2)  # (B, G, k, 3) -> (B, G, k*3)

    def token_error(self, prediction, target):
        return chamfer(prediction.unflatten(-1, (-1, 3)), target.unflatten(-1, (-1, 3)))

    def reconstruction_score(self, error: float, measured_range: float) -> float:
        return float(error)

    def reconstruction_views(self, cfg, x, prediction, target, mask, extras) -> tuple:
        """(original, visible groups, predicted groups, predicted + visible), each (P, 3) absolute points."""
        centres, hidden = extras["centres"][0], mask.bool()

        def groups(values: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
            """(G', k*3) local offsets of the groups `which` -> (G'*k, 3) absolute points."""
            return (values.unflatten(-1, (-1, 3)) + centres[which][:, None]).reshape(-1, 3)

        every = torch.ones_like(hidden)
        pasted = torch.where(hidden[:, None], prediction, target)
        return x, groups(target[~hidden], ~hidden), groups(prediction, every), groups(pasted, every)

    def show_range(self, x):
        return x

    def make_dense_head(self, cfg, classes: int) -> nn.Module:
        from timm.layers import Mlp

        return Mlp(cfg.width + 3, cfg.width, classes)

    def segment(self, head, tokens, grid, x, extras, cfg, classes) -> torch.Tensor:
        """Each point reads its group's token and its offset from the group centre -> (B, P, classes)."""
        centres = extras["centres"]
        owner = patches.nearest_centre(x, centres)                                   # (B, P)
        feature = torch.gather(tokens, 1, owner.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))
        offset = x - torch.gather(centres, 1, owner.unsqueeze(-1).expand(-1, -1, 3))
        return head(torch.cat([feature, offset], dim=-1))                            # (B, P, classes)

    def segmentation_loss(self, logits, target):
        return F.cross_entropy(logits.flatten(0, 1), target.flatten())

    def dense_classes(self, logits: torch.Tensor) -> torch.Tensor:
        """Per-point logits (B, P, classes) -> predicted class ids (B, P)."""
        return logits.argmax(-1)

    def view(self, x) -> View:
        return View("cloud", x, labels=torch.zeros(len(x)))

    def event_views(self, batch, i: int) -> list[tuple[str, View]]:
        return [(self.label, View("cloud", batch[self.name][i], labels=batch.segments[self.name][i]))]

    def describe_stem(self, cfg) -> str:
        return "FPS + kNN + PointNet"

    def view_heat(self, scores, grid, x, extras):
        """Each point takes its group's value: the group of its nearest centre, as segmentation assigns them."""
        owner = patches.nearest_centre(x[None], extras["centres"][None])[0]  # (P,)
        return scores[owner]

    def token_name(self, index, grid):
        return f"point group {index + 1} of {grid[1]}"


# A cloud enters centred and scaled to unit radius (`normalize_cloud`), as a mesh file of any units must:
# its size is not observable.
POINTS = Points("points", "points", 3, 1, 1, 1, N_POINTS, GROUPS, (1, GROUPS), ("shape",), dense=True, anchor_rank=3,
                mask_ratio=0.6, view_kind="cloud", reads=("points",), queries=("points",),
                label="point cloud (drag to rotate)")
