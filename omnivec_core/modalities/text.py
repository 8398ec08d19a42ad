"""text: a caption (a str, at most `config.TEXT_MAX_TOKENS` word pieces), tokenized by MiniLM or a scratch
embedding. Captions are coarse (they name a class, not an instance) and have no MAE target."""
from __future__ import annotations

from ..constants import TEXT_MAX_TOKENS
from .base import Modality, View


class Text(Modality):
    def batch_input(self, batch):
        """The first caption of each event (None if captions were not rendered)."""
        return None if self.name not in batch else [captions[0] for captions in batch[self.name]]

    def input_dims(self, x, text_window: int) -> tuple[int, int, int, int, int]:
        # the caption window, not the batch's longest caption, so a caption's meta token does not
        # depend on the captions it is batched with
        return (1, 1, 1, 1, text_window)

    def stem_crosses_patches(self, cfg) -> bool:
        return False

    def view(self, x) -> View:
        return View("caption", x)

    def event_views(self, batch, i: int) -> list[tuple[str, View]]:
        return [(self.label, View("caption", "\n".join(f"• {c}" for c in batch[self.name][i])))]

    def describe_stem(self, cfg) -> str:
        return "MiniLM (frozen)" if cfg.text_encoder == "minilm" else "word embedding"


TEXT = Text("text", "text", 1, 1, 1, 1, TEXT_MAX_TOKENS, TEXT_MAX_TOKENS, (1, TEXT_MAX_TOKENS), ("shape", "colour", "motion"), reconstruct=False,
            fine=False, language=True, view_kind="caption", out_of_world=(0.90, 1.00), label="captions")
