"""OmniVL's two visual-grounded text decoders over the encoder's tokens of any modality: an alignment
decoder (bidirectional, [ENC] first; its output says whether a caption matches the input: the VLM loss)
and a generation decoder (causal, [DEC] first, [EOS] last: the language-modelling loss, captioning).
Both read the encoder's tokens through cross-attention, so every modality the model encodes can be
matched and captioned."""
from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from ..constants import MLP_RATIO
from ..data.omnishapes import caption_words
from .layers import Attention

SPECIALS = ("[PAD]", "[DEC]", "[EOS]", "[ENC]", "[UNK]")
PAD, DEC, EOS, ENC, UNK = range(len(SPECIALS))
MAX_CAPTION_TOKENS = 20  # [DEC] or [ENC], words and commas, [EOS]: the longest OmniShapes caption is 15
_WORD = re.compile(r"[a-z]+|,")
COMMA = len(SPECIALS) + caption_words().index(",")


class CaptionVocabulary:
    """The words OmniShapes captions are made of, plus five special tokens; everything else is [UNK]."""

    def __init__(self):
        self.words = SPECIALS + tuple(caption_words())
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, texts: list[str], start: int) -> torch.Tensor:
        """Captions -> (B, L) ids: `start` ([DEC] or [ENC]), the words, [EOS], padded with [PAD]."""
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise TypeError("captions must be a list of strings")
        rows = [[start] + [self.index.get(w, UNK) for w in _WORD.findall(t.lower())][:MAX_CAPTION_TOKENS - 2]
                + [EOS] for t in texts]
        longest = max(map(len, rows), default=2)
        return torch.tensor([r + [PAD] * (longest - len(r)) for r in rows], dtype=torch.long)

    def decode(self, ids) -> str:
        """Ids after the start token, up to [EOS] -> a sentence ("A red cube spinning")."""
        words = []
        for i in (int(i) for i in ids):
            if i == EOS:
                break
            if i >= len(SPECIALS):
                words.append(self.words[i])
        text = " ".join(words).replace(" ,", ",")
        return text[:1].upper() + text[1:]


class CrossAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q, self.kv, self.proj = nn.Linear(dim, dim), nn.Linear(dim, 2 * dim), nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, memory_padding: torch.Tensor | None) -> torch.Tensor:
        (batch, length, dim), heads = x.shape, self.heads
        q = self.q(x).reshape(batch, length, heads, dim // heads).transpose(1, 2)          # (B, h, L, d)
        # (B, M, 2D) -> (2, B, h, M, d)
        k, v = self.kv(memory).reshape(batch, memory.shape[1], 2, heads, dim // heads).permute(2, 0, 3, 1, 4)
        mask = None if memory_padding is None else (~memory_padding)[:, None, None, :]     # (B, 1, 1, M)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(out.transpose(1, 2).reshape(batch, length, dim))                  # (B, L, D)


class DecoderBlock(nn.Module):
    """Pre-norm: self-attention (causal for generation), cross-attention to the input's tokens, MLP."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.self_attn, self.cross_attn = Attention(dim, heads), CrossAttention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * MLP_RATIO)), nn.GELU(), nn.Linear(int(dim * MLP_RATIO), dim))

    def forward(self, x, padding, causal: bool, memory, memory_padding):
        x = x + self.self_attn(self.norm1(x), padding, causal=causal)[0]
        x = x + self.cross_attn(self.norm2(x), memory, memory_padding)
        return x + self.mlp(self.norm3(x))


class TextDecoder(nn.Module):
    """Token and position embeddings, decoder blocks, a final norm: (B, L) ids -> (B, L, W) states."""

    def __init__(self, vocab: int, dim: int, heads: int, depth: int, causal: bool):
        super().__init__()
        self.causal = causal
        self.embed = nn.Embedding(vocab, dim, padding_idx=PAD)
        self.pos = nn.Parameter(torch.randn(MAX_CAPTION_TOKENS, dim) * 0.02)
        self.blocks = nn.ModuleList(DecoderBlock(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)

    def forward(self, ids: torch.Tensor, memory: torch.Tensor, memory_padding: torch.Tensor | None) -> torch.Tensor:
        x = self.embed(ids) + self.pos[: ids.shape[1]]                                     # (B, L, W)
        padding = ids == PAD
        for block in self.blocks:
            x = block(x, padding, self.causal, memory, memory_padding)
        return self.norm(x)


class LanguageDecoders(nn.Module):
    """OmniVL's alignment decoder (`match`) and generation decoder (`caption`), reading what `read` makes of
    an encoding of any modality: its backbone tokens projected to the decoder width."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.vocabulary = CaptionVocabulary()
        dim, heads, depth = cfg.decoder_width, cfg.decoder_heads, cfg.text_decoder_depth
        self.memory = nn.Linear(cfg.width, dim)
        self.aligner = TextDecoder(len(self.vocabulary), dim, heads, depth, causal=False)
        self.generator = TextDecoder(len(self.vocabulary), dim, heads, depth, causal=True)
        self.match_head = nn.Linear(dim, 2)                  # [ENC]'s output -> (no match, match)
        self.lm_head = nn.Linear(dim, len(self.vocabulary))  # each position -> the next token

    def read(self, encoded) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(memory (B, 1+K, W), its padding (B, 1+K) or None) of an encoding: the backbone's tokens, meta
        token first, projected to the decoder width."""
        return self.memory(encoded.tokens), memory_padding(encoded.key_padding, encoded.tokens)

    def match_logits(self, memory: torch.Tensor, padding: torch.Tensor | None, captions: list[str]) -> torch.Tensor:
        """(B,) logit that caption i describes input i (memory and padding from `read`)."""
        ids = self.vocabulary.encode(captions, ENC).to(memory.device)
        states = self.aligner(ids, memory, padding)
        logits = self.match_head(states[:, 0])                                             # (B, 2)
        return logits[:, 1] - logits[:, 0]

    def lm_loss(self, memory: torch.Tensor, padding: torch.Tensor | None, captions: list[str]) -> torch.Tensor:
        """Teacher-forced next-token cross-entropy of each input's caption, [EOS] included."""
        ids = self.vocabulary.encode(captions, DEC).to(memory.device)                      # (B, L)
        logits = self.lm_head(self.generator(ids[:, :-1], memory, padding))                # (B, L-1, V)
        return F.cross_entropy(logits.flatten(0, 1), ids[:, 1:].flatten(), ignore_index=PAD)

    def next_token_logits(self, ids: torch.Tensor, memory: torch.Tensor, memory_pad) -> torch.Tensor:
        """(B, V) logits of the token after `ids` (B, t); `memory` from `read`."""
        return self.lm_head(self.generator(ids, memory, memory_pad)[:, -1])


def memory_padding(padding: torch.Tensor | None, tokens: torch.Tensor) -> torch.Tensor | None:
    """The encoder's content padding (B, K) widened by the meta token, which is never padding."""
    return None if padding is None else torch.cat([padding.new_zeros(tokens.shape[0], 1), padding], dim=1)
