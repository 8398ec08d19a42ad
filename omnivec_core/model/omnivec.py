"""The OmniVec module: stems -> meta-conditioned projection -> (masking / DropToken) -> shared
transformer -> vectorizer -> embedding spaces and task heads; plus the MAE decoder.

Every stage is an `nn.ModuleDict` keyed by modality (or stem) so a modality is one entry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import ModelConfig
from ..constants import TEXT_MAX_TOKENS
from ..modalities import REGISTRY
from .backbone import Backbone
from .heads import EmbeddingHeads, TaskHeads, Vectorizer
from .language import LanguageDecoders
from .layers import init_weights
from .mae import MAEDecoder, blank_hidden_patches
from .spacetime import SpaceTime
from .stems import make_stems
from .tokens import Masking, MetaConditioner, StemOutput, gather_tokens, make_masking, masked_mean, masked_slot_mean

_NO_DECAY = re.compile(r"(^|\.)(pos|tables|mask_token)(\.|$)")


@dataclass
class Encoded:
    modality: str
    tokens: torch.Tensor                   # (B, 1+K, D) backbone output, meta token first
    vector: torch.Tensor                   # (B, D) the vectorizer's output
    stem_vector: torch.Tensor              # (B, D) mean of the projected tokens before the backbone
    stem: StemOutput                       # grid, padding and extras of the stem
    masking: Masking | None = None         # set when tokens were masked or dropped
    key_padding: torch.Tensor | None = None  # (B, K) padding of the kept content tokens
    time_profile: torch.Tensor | None = None  # (B, steps*D) content means per time step, for the fine time heads
    for_mae: bool = False                  # masked for reconstruction (the stem did not see the hidden patches)
    hidden: list[torch.Tensor] | None = None     # per block (B, 1+K, D) when recorded
    attention: list[torch.Tensor] | None = None  # per block (B, heads, 1+K, 1+K) when recorded
    temporal_attention: list[torch.Tensor | None] | None = None  # the same of divided attention's temporal part


@dataclass
class MAEOutput:
    prediction: torch.Tensor  # (B, N, target_dim) for every token, masked or not
    target: torch.Tensor      # (B, N, target_dim)
    mask: torch.Tensor        # (B, N) 1.0 where the token was hidden from the encoder
    extras: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class _Prepared:
    sequence: torch.Tensor              # (B, 1+K, D) meta token + kept tokens
    key_padding: torch.Tensor | None    # (B, 1+K)
    stem_vector: torch.Tensor
    stem: StemOutput
    masking: Masking | None
    layout: SpaceTime | None            # where each token lies in time and space, for divided attention


class OmniVec(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.stems = make_stems(cfg)
        self.meta = MetaConditioner(cfg.modalities, cfg.stem_dim, cfg.width)
        self.backbone = Backbone(cfg)
        self.vectorizer = Vectorizer(cfg.width)
        self.embedding = EmbeddingHeads(cfg)
        self.tasks = TaskHeads(cfg)
        self.decoder = MAEDecoder(cfg)
        self.language = LanguageDecoders(cfg) if cfg.text_decoder_depth else None
        frozen = self.frozen_prefixes()
        for name, module in self.named_modules():
            if not any(name.startswith(p.rstrip(".")) for p in frozen):
                init_weights(module)
        self.meta.reset_film()
        self.backbone.reset_temporal()
        self.embedding.reset_time_heads()
        self.held_parts: tuple[str, ...] = ()       # what `hold` was given
        self.held_modules: tuple[str, ...] = ()     # the module paths among them, kept in eval mode
        self._held_parameters: tuple[nn.Parameter, ...] = ()  # those `hold` turned off, for `release` to turn on

    def hold(self, parts: list[str]) -> None:
        """Keep exactly these parts (module paths such as "backbone" or "stems.visual", or one parameter) as
        they are while the rest trains: no gradients, and modules in eval mode, so their norms and dropout
        behave as at inference. What an earlier call held trains again (each stage of a plan holds its own)."""
        self.release()
        parameters = dict(self.named_parameters())
        held = {id(p): p for part in parts for p in self._part_parameters(part, parameters) if p.requires_grad}
        for parameter in held.values():
            parameter.requires_grad_(False)
        self.held_parts, self._held_parameters = tuple(parts), tuple(held.values())
        self.held_modules = tuple(part for part in parts if part not in parameters)
        self.train(self.training)

    def release(self) -> None:
        """Undo `hold`: what it held trains again. Pretrained frozen parts (MiniLM) stay frozen: `hold` never
        turned their gradients off, so it does not turn them on."""
        for parameter in self._held_parameters:
            parameter.requires_grad_(True)
        self.held_parts, self.held_modules, self._held_parameters = (), (), ()
        self.train(self.training)

    def _part_parameters(self, part: str, parameters: dict[str, nn.Parameter]) -> list[nn.Parameter]:
        """The parameters of one part: a single tensor, such as a shared "decoder.mask_token", or a module's."""
        if part in parameters:
            return [parameters[part]]
        try:
            module = self.get_submodule(part)
        except AttributeError:
            names = [name for name, _ in self.named_children()]
            raise ValueError(f"frozen names {part!r}, which is not a part of this model; "
                             f"its parts are {names} (or dotted paths inside them)") from None
        return list(module.parameters())

    def train(self, mode: bool = True) -> "OmniVec":
        super().train(mode)
        for part in getattr(self, "held_modules", ()):  # nn.Module.__init__ calls train() before it is set
            self.get_submodule(part).eval()
        return self

    def frozen_prefixes(self) -> list[str]:
        """State-dict prefixes of pretrained frozen parts: loaded from their package, never checkpointed."""
        return [f"stems.{key}.{stem.frozen_prefix}" for key, stem in self.stems.items()
                if getattr(stem, "frozen_prefix", None)]

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        frozen = tuple(self.frozen_prefixes())
        return {k: v for k, v in self.state_dict().items() if not k.startswith(frozen)}

    # ---- encoding -------------------------------------------------------------------------
    def _stem_and_input(self, modality: str, x):
        """The stem this modality uses and its input (an image is a 1-frame video)."""
        if modality not in self.cfg.modalities:
            raise ValueError(f"this model has no {modality!r} input; it was built for {list(self.cfg.modalities)}")
        spec = REGISTRY[modality]
        return self.stems[spec.stem], spec.stem_input(x)

    def run_stem(self, modality: str, x) -> StemOutput:
        stem, stem_input = self._stem_and_input(modality, x)
        return stem(stem_input)

    def tokenize(self, modality: str, x) -> tuple[torch.Tensor, torch.Tensor, StemOutput]:
        """Stem + meta-conditioned projection -> tokens (B, N, D), meta vector (D,), stem output."""
        stem = self.run_stem(modality, x)
        dims = REGISTRY[modality].input_dims(x, TEXT_MAX_TOKENS)
        tokens, meta = self.meta(stem.tokens, modality, dims)
        return tokens, meta, stem

    def stem_crosses_patches(self, modality: str) -> bool:
        """A conv stem's receptive fields cross patch borders; a linear patchify does not."""
        return REGISTRY[modality].stem_crosses_patches(self.cfg)

    def _prepare(self, modality: str, x, ratio: float, kind: str, generator, for_mae: bool = False) -> _Prepared:
        masking = None
        # MAE chooses its hidden patches first and blanks them, so no stem conv sees them; DropToken only
        # saves backbone work, so its stem keeps the full view
        if for_mae and ratio > 0 and self.stem_crosses_patches(modality):
            stem, stem_input = self._stem_and_input(modality, x)
            grid = stem.token_grid(stem_input)
            masking = make_masking(x.shape[0], grid, ratio, kind, x.device, generator)
            x = blank_hidden_patches(self.cfg, modality, x, masking.mask)
        tokens, meta, stem = self.tokenize(modality, x)
        padding = stem.key_padding
        stem_vector = masked_mean(tokens, padding)
        if ratio > 0:
            if masking is None:
                masking = make_masking(tokens.shape[0], stem.grid, ratio, kind, tokens.device, generator)
            tokens = gather_tokens(tokens, masking.ids_keep)  # (B, K, D)
            padding = None if padding is None else gather_tokens(padding, masking.ids_keep)
        batch = tokens.shape[0]
        sequence = torch.cat([meta.expand(batch, 1, -1), tokens], dim=1)  # (B, 1+K, D)
        if padding is not None:
            padding = torch.cat([padding.new_zeros(batch, 1), padding], dim=1)
        layout = None
        if self.cfg.attention == "divided":
            positions = masking.ids_keep if masking is not None else torch.arange(
                tokens.shape[1], device=tokens.device).expand(batch, -1)              # (B, K)
            layout = SpaceTime.of(positions, stem.grid)
        return _Prepared(sequence, padding, stem_vector, stem, masking, layout)

    def encode_many(self, inputs: dict[str, object], ratios: dict[str, float] | None = None,
                    kinds: dict[str, str] | None = None, generator: torch.Generator | None = None,
                    for_mae: bool = False) -> dict[str, Encoded]:
        """Encode several modalities. With a shared backbone, sequences of equal length run as one
        large batch, so the transformer sees dense work whatever the modality mix. `for_mae`: the
        removed tokens are MAE's, to be reconstructed (see `_prepare`)."""
        ratios, kinds = ratios or {}, kinds or {}
        prepared = {m: self._prepare(m, x, ratios.get(m, 0.0), kinds.get(m, "random"), generator, for_mae)
                    for m, x in inputs.items()}
        groups: dict[tuple, list[str]] = {}
        for m, p in prepared.items():  # divided attention runs inputs with a time axis apart from those without
            timed = p.layout is not None and p.layout.steps > 1
            groups.setdefault((self.backbone.stack_key(m), p.sequence.shape[1], timed), []).append(m)
        outputs = {}
        for members in groups.values():
            sequence = torch.cat([prepared[m].sequence for m in members])
            paddings = [prepared[m].key_padding for m in members]
            padding = None if all(p is None for p in paddings) else torch.cat(
                [p if p is not None else torch.zeros(prepared[m].sequence.shape[:2], dtype=torch.bool,
                                                     device=sequence.device)
                 for m, p in zip(members, paddings)])
            layout = None if prepared[members[0]].layout is None else SpaceTime.cat([prepared[m].layout for m in members])
            result = self.backbone(sequence, members[0], padding, layout=layout).tokens
            for m, chunk in zip(members, result.split([prepared[m].sequence.shape[0] for m in members])):
                outputs[m] = chunk
        return {m: self._finish(m, prepared[m], outputs[m], for_mae=for_mae) for m in inputs}

    def _time_slot(self, prepared: _Prepared, tokens: torch.Tensor, slots: int) -> torch.Tensor:
        """(B, K) which of `slots` time slots each kept content token falls in."""
        steps, per_step = prepared.stem.grid  # every stem's token grid is time-major: (time steps, rest)
        if prepared.masking is not None:
            position = prepared.masking.ids_keep                                          # (B, K)
        else:
            position = torch.arange(steps * per_step, device=tokens.device).expand(tokens.shape[0], -1)
        return (position // per_step) * slots // steps  # steps spread evenly over the slots

    def _finish(self, modality: str, prepared: _Prepared, tokens: torch.Tensor, record=None,
                for_mae: bool = False) -> Encoded:
        padding = None if prepared.key_padding is None else prepared.key_padding[:, 1:]
        vector = self.vectorizer(tokens, padding)
        profile = None
        if modality in self.embedding.time_steps:
            steps = self.embedding.time_steps[modality]
            slot = self._time_slot(prepared, tokens, steps)
            profile = masked_slot_mean(tokens[:, 1:], slot, steps, padding).flatten(1)  # (B, steps*D)
        return Encoded(modality, tokens, vector, prepared.stem_vector, prepared.stem,
                       prepared.masking, padding, profile, for_mae,
                       record.hidden if record else None, record.attention if record else None,
                       record.temporal_attention if record else None)

    def encode(self, modality: str, x, ratio: float = 0.0, kind: str = "random",
               generator: torch.Generator | None = None, record: bool = False, for_mae: bool = False) -> Encoded:
        """One modality. `ratio` removes that share of tokens (MAE masking with `for_mae`, else DropToken,
        both by argsort of noise); `record` also returns every block's hidden states and attention maps."""
        if not record:
            return self.encode_many({modality: x}, {modality: ratio}, {modality: kind}, generator, for_mae)[modality]
        prepared = self._prepare(modality, x, ratio, kind, generator, for_mae)
        out = self.backbone(prepared.sequence, modality, prepared.key_padding, record=True, layout=prepared.layout)
        return self._finish(modality, prepared, out.tokens, out, for_mae)

    # ---- heads ----------------------------------------------------------------------------
    def embed(self, encoded: Encoded) -> dict[str, torch.Tensor]:
        """L2-normalised embeddings in every space this modality takes part in."""
        return self.embedding(encoded.modality, encoded.vector, encoded.time_profile)

    def language_memory(self, encoded: Encoded) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(memory, padding) the text decoders read of an encoding."""
        if self.language is None:
            raise ValueError("this model has no text decoders (model.text_decoder_depth is 0)")
        return self.language.read(encoded)

    def classify(self, encoded: Encoded) -> dict[str, torch.Tensor]:
        return self.tasks.classification(encoded.vector)

    def segment(self, encoded: Encoded, x=None) -> torch.Tensor:
        """Dense logits from an unmasked encoding of `x` (a per-point head reads the raw points)."""
        if encoded.masking is not None:
            raise ValueError("segmentation needs every token: encode without masking or DropToken")
        return self.tasks.segmentation(encoded.modality, encoded.tokens[:, 1:], encoded.stem.grid, x,
                                       encoded.stem.extras)

    def reconstruct(self, encoded: Encoded, x) -> MAEOutput:
        """Decode a masked encoding back to every token's target."""
        if encoded.masking is None or not encoded.for_mae:
            raise ValueError("reconstruction needs an MAE encoding: encode(..., ratio > 0, for_mae=True), which "
                             "also keeps the hidden patches from the stem")
        extras = encoded.stem.extras
        prediction = self.decoder(encoded.modality, encoded.tokens, encoded.masking.ids_restore, extras)
        target = REGISTRY[encoded.modality].mae_target(self.cfg, x, extras)
        return MAEOutput(prediction, target, encoded.masking.mask, extras)

    # ---- optimisation ---------------------------------------------------------------------
    def optimizer_groups(self, weight_decay: float) -> list[dict]:
        """AdamW groups: decay on weight matrices; none on norms, biases, positions and embeddings."""
        embeddings = {id(m.weight) for m in self.modules() if isinstance(m, nn.Embedding)}
        decay, no_decay = [], []
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            exempt = param.ndim < 2 or id(param) in embeddings or _NO_DECAY.search(name) is not None
            (no_decay if exempt else decay).append(param)
        return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
