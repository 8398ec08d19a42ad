"""MMV's deflation (Alayrac et al. 2020, section 3.3): a network trained on video alone, applied to still images.

This model filters over time in two places:
- the visual stem's tubelet projection `VisualStem.proj`, a linear map of `tubelet` frames' features (a patch's
  pixels, or its per-frame conv features): a 3D convolution of temporal extent and stride `tubelet`. Tubelets
  do not overlap and time is never padded with zeros (a short clip repeats its last frame), so on a static
  clip every time step's tokens equal the deflated stem's on the image but for the time positions;
- the fine space's time heads (`EmbeddingHeads.time_heads`), a projection of the token means of every time
  step: one temporal filter spanning the whole clip.

An image reaches the video network in one of four ways (`WAYS`), as in MMV's table:
- "n-def": a one-frame clip, the network unchanged, with time padded by zeros as a 3D convolution pads it: only
  each tubelet filter's first tap sees the frame, and the time head gets the one step and empty (zero) others;
- "def": every temporal filter summed over its time axis: the stem projects each patch by its taps' sum, and the
  time head reads the one step's mean in every slot (for its affine batch norm and linear map, the same as
  summing them over steps). This code's own one-frame path (`VisualStem` repeats the frame to fill its tubelet)
  already computes the deflated stem;
- "def+corr": "def" with a per-channel scale and shift after the deflated projection (MMV learns the batch
  norms' scale and shift after deflation), fit with an L1 loss to the video network's outputs on static clips:
  what the sum cannot give (the time positions, the meta token's frame count, attention over one copy of the
  tokens instead of one per time step) is left for it to absorb;
- "i-inf": input inflation, the image repeated into a static clip as long as the video's.
"""
from __future__ import annotations

import copy
import dataclasses

import torch
from torch import nn

from ..data.omnishapes import OmniShapes, OmniShapesConfig
from ..evaluation.held_out import HELD_OUT_SEED, linear_probe
from ..evaluation.pairs import named_attributes
from ..modalities import CAPTIONS, IMAGE, REGISTRY, VIDEO, patches
from ..model import OmniVec
from ..model.omnivec import Encoded
from ..model.stems import VisualStem
from ..model.tokens import StemOutput

WAYS = ("n-def", "def", "def+corr", "i-inf")
TAPS = ("sum", "first")  # a deflated filter: its taps summed over time (MMV's "def"), or only the first ("n-def")


class DeflatedStem(nn.Module):
    """The visual stem for still images: the tubelet projection (stem_dim, tubelet * E) becomes a per-frame one
    (stem_dim, E), then a per-channel correction (scale, shift), the identity until `fit_correction`. It takes
    the one-frame clips (B, 1, C, H, W) the video network is given an image as."""

    def __init__(self, stem: VisualStem, taps: str = "sum"):
        super().__init__()
        if taps not in TAPS:
            raise ValueError(f"taps must be one of {TAPS}, got {taps!r}")
        self.taps, self.patch = taps, stem.patch
        self.conv = copy.deepcopy(stem.conv)
        self.pos = copy.deepcopy(stem.pos)
        self.proj = deflate_linear(stem.proj, stem.tubelet, taps)
        self.scale = nn.Parameter(torch.ones(stem.proj.out_features))
        self.shift = nn.Parameter(torch.zeros(stem.proj.out_features))

    def token_grid(self, video: torch.Tensor) -> tuple[int, int]:
        return 1, (video.shape[3] // self.patch) * (video.shape[4] // self.patch)

    def forward(self, video: torch.Tensor) -> StemOutput:
        if video.shape[1] != 1:
            raise ValueError(f"a deflated stem takes still images (one-frame clips), got {video.shape[1]} frames")
        image = video[:, 0]                                                      # (B, C, H, W)
        h, w = image.shape[2] // self.patch, image.shape[3] // self.patch
        features = self.conv(image) if self.conv is not None else patches.patchify_2d(image, self.patch)
        tokens = self.proj(features) * self.scale + self.shift                   # (B, h*w, stem_dim)
        return StemOutput(tokens + self.pos((1, h, w)), (1, h * w))


def deflate_linear(proj: nn.Linear, tubelet: int, taps: str) -> nn.Linear:
    """A tubelet projection (out, tubelet * E), its input frame-major, as a per-frame one (out, E)."""
    kernel = proj.weight.detach().unflatten(1, (tubelet, -1))  # (out, tubelet, E): one tap per frame of a tubelet
    # the naive filter keeps the tap the one frame falls on; the frames after it are zeros, as in a padded conv
    flat = kernel.sum(1) if taps == "sum" else kernel[:, 0]   # (out, E)
    out = nn.Linear(flat.shape[1], flat.shape[0]).to(proj.weight.device)
    with torch.no_grad():
        out.weight.copy_(flat)
        out.bias.copy_(proj.bias)
    return out


def deflate_stem(model: OmniVec, taps: str = "sum") -> DeflatedStem:
    """A deflated copy of the model's visual stem (the model is left as it is)."""
    if VIDEO not in model.cfg.modalities:
        raise ValueError(f"deflation needs a video network; this model has {list(model.cfg.modalities)}")
    return DeflatedStem(model.stems[REGISTRY[VIDEO].stem], taps)


def deflate(model: OmniVec, taps: str = "sum") -> OmniVec:
    """A copy of the model for still images, its visual stem deflated, in eval mode; only the stem's correction
    can train."""
    network = copy.deepcopy(model).requires_grad_(False)
    stem = network.stems[REGISTRY[VIDEO].stem] = deflate_stem(model, taps)
    stem.scale.requires_grad_(True)
    stem.shift.requires_grad_(True)
    return network.eval()


def static_clip(images: torch.Tensor, frames: int = REGISTRY[VIDEO].frames) -> torch.Tensor:
    """(B, C, H, W) -> (B, frames, C, H, W): the image held still for a clip."""
    return images.unsqueeze(1).expand(-1, frames, -1, -1, -1)


def encode_inflated(model: OmniVec, images: torch.Tensor) -> Encoded:
    """i-inf: the video network on the static clip of each image."""
    return model.encode(VIDEO, static_clip(images))


def encode_deflated(network: OmniVec, images: torch.Tensor) -> Encoded:
    """A deflated network (`deflate`) on the images as one-frame clips. With summed taps the time head is
    deflated too: the one step's mean fills every slot; with the first tap the others stay zero (n-def)."""
    encoded = network.encode(VIDEO, images.unsqueeze(1))
    if encoded.time_profile is None or network.stems[REGISTRY[VIDEO].stem].taps != "sum":
        return encoded
    steps = network.embedding.time_steps[VIDEO]
    first = encoded.time_profile.unflatten(1, (steps, -1))[:, :1]              # (B, 1, D): the image's step
    return dataclasses.replace(encoded, time_profile=first.expand(-1, steps, -1).flatten(1))  # (B, steps*D)


def output_l1(a: Encoded, b: Encoded) -> torch.Tensor:
    """Mean absolute difference of what the heads read: the vector, and the time profile where there is one."""
    parts = [(a.vector - b.vector).abs().mean()]
    if a.time_profile is not None:
        parts.append((a.time_profile - b.time_profile).abs().mean())
    return torch.stack(parts).mean()


def fit_correction(model: OmniVec, network: OmniVec, images: torch.Tensor, steps: int, lr: float = 0.01,
                   batch_size: int = 64, seed: int = 0) -> list[float]:
    """Train the deflated network's correction (nothing else) so its outputs on `images` match the video
    network's on their static clips, by L1 (MMV). Returns the L1 of every step."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    stem = network.stems[REGISTRY[VIDEO].stem]
    model.eval()
    network.eval()
    chunks = images.split(batch_size)
    with torch.no_grad():
        targets = [encode_inflated(model, chunk) for chunk in chunks]
    optimizer = torch.optim.Adam([stem.scale, stem.shift], lr=lr)
    order = torch.Generator().manual_seed(seed)
    history = []
    for _ in range(steps):
        chunk = int(torch.randint(len(targets), (1,), generator=order))
        loss = output_l1(encode_deflated(network, chunks[chunk]), targets[chunk])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return history


@torch.no_grad()
def correction_l1(model: OmniVec, network: OmniVec, images: torch.Tensor) -> float:
    """L1 between the deflated network's outputs on `images` and the video network's on their static clips."""
    return output_l1(encode_deflated(network, images), encode_inflated(model, images)).item()


@torch.no_grad()
def image_encodings(model: OmniVec, networks: dict[str, OmniVec], images: torch.Tensor) -> dict[str, Encoded]:
    """Every way's encoding of the images (`networks`: the "n-def", "def" and "def+corr" networks)."""
    out = {way: encode_deflated(network, images) for way, network in networks.items()}
    out["i-inf"] = encode_inflated(model, images)
    return {way: out[way] for way in WAYS}


def render_stills(world: OmniShapes, n: int, seed: int, device):
    """Events with their still (frame 0), clip and captions."""
    return world.render(n, seed=seed, modalities=(IMAGE, VIDEO, CAPTIONS), device=device)


@torch.no_grad()
def way_scores(model: OmniVec, encoded: Encoded, fit: Encoded, batch, fit_batch, captions) -> dict[str, float]:
    """Image<->text attribute P@1 ("to text": the images query the first captions; a hit agrees with the query
    on every attribute both name, and a still observes shape, colour and size) and a linear probe of shape on
    the vector, fit on `fit` and scored on `encoded`."""
    space = model.embedding.pair_space(VIDEO, CAPTIONS)
    images = model.embed(encoded)[space].float()
    texts = model.embed(captions)[space].float()
    text_of = [row[0] for row in batch[CAPTIONS]]
    named = {m: named_attributes(m, batch.labels, text_of) for m in (IMAGE, CAPTIONS)}
    scores = {}
    for key, (a, b, similarity) in {"to text P@1": (IMAGE, CAPTIONS, images @ texts.t()),
                                    "from text P@1": (CAPTIONS, IMAGE, texts @ images.t())}.items():
        top = similarity.argmax(1).tolist()
        hits = [all(q[k] == named[b][j][k] for k in q.keys() & named[b][j].keys()) for q, j in zip(named[a], top)]
        scores[key] = sum(hits) / len(hits)
    scores["shape probe"] = linear_probe(fit.vector.float().cpu().numpy(), fit_batch.labels["shape"].cpu().numpy(),
                                         encoded.vector.float().cpu().numpy(), batch.labels["shape"].cpu().numpy())
    return scores


def deflation_table(model: OmniVec, n_events: int = 256, seed: int = HELD_OUT_SEED, steps: int = 200,
                    fit_seed: int = 0) -> dict:
    """MMV's table for this model: image<->text attribute P@1 and a shape probe on `n_events` held-out images
    (OmniShapes `seed`; frame 0 of each clip) for every way in `WAYS`, beside the real clips (for reference);
    "L1" is each way's distance to i-inf's outputs. The correction and the probes fit on `n_events` images
    of OmniShapes `fit_seed` (a training stream)."""
    device, was_training = next(model.parameters()).device, model.training
    model.eval()
    world = OmniShapes(OmniShapesConfig())
    batch, fit_batch = render_stills(world, n_events, seed, device), render_stills(world, n_events, fit_seed, device)
    networks = {"n-def": deflate(model, "first"), "def": deflate(model), "def+corr": deflate(model)}
    history = fit_correction(model, networks["def+corr"], fit_batch[IMAGE], steps)
    with torch.no_grad():
        captions = model.encode(CAPTIONS, [row[0] for row in batch[CAPTIONS]])
        held_out = image_encodings(model, networks, batch[IMAGE])
        fitted = image_encodings(model, networks, fit_batch[IMAGE])
        clips, fit_clips = model.encode(VIDEO, batch[VIDEO]), model.encode(VIDEO, fit_batch[VIDEO])
    rows = {way: {**way_scores(model, held_out[way], fitted[way], batch, fit_batch, captions),
                  "L1": output_l1(held_out[way], held_out["i-inf"]).item()} for way in WAYS}
    rows["video (clips)"] = way_scores(model, clips, fit_clips, batch, fit_batch, captions)
    model.train(was_training)
    return {"events": n_events, "seed": seed, "ways": rows,
            "correction": {"steps": steps, "fit L1 first": history[0], "fit L1 last": history[-1]}}


def format_table(table: dict) -> str:
    """The table as aligned text, one row per way."""
    columns = list(table["ways"]["def"])
    lines = [f"{'way':<14}" + "".join(f"{c:>18}" for c in columns)]
    for way, scores in table["ways"].items():
        lines.append(f"{way:<14}" + "".join(f"{scores[c]:>18.3f}" if c in scores else f"{'-':>18}" for c in columns))
    fit = table["correction"]
    lines.append(f"{table['events']} held-out events (seed {table['seed']}); correction: {fit['steps']} steps, "
                 f"fit L1 {fit['fit L1 first']:.4f} -> {fit['fit L1 last']:.4f}")
    return "\n".join(lines)
