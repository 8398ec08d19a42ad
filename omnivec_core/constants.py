"""Fixed settings of the project: the config format, and settings every preset and every shipped model
shares, so they are not config fields. A config.json written before they became constants still names them;
`migrate` checks it names these values."""

FORMAT_VERSION = 5  # of config.json; `omnivec_core.migrate` upgrades older ones (version 1 had no such key)

MLP_RATIO = 4.0                # hidden width of each transformer block's MLP (backbone and decoder), x its width
TEXT_VOCAB = 4096              # hash buckets of the scratch text tokenizer
TEXT_MAX_TOKENS = 24           # word pieces kept per caption
TEMPERATURE = 0.07             # softmax temperature of the contrastive losses
WEIGHT_DECAY = 0.05            # AdamW decay on matrices (not norms, biases, embeddings)
GRAD_CLIP = 1.0                # max global gradient norm
EVAL_SEED = 1_000_003          # held-out OmniShapes seed of the quick evals during training (never trained on)
MIN_LR = 1e-5                  # end of every cosine decay
PATCH = 8                      # side of a patch of image, video, depth and spectrogram tokens, in pixels (mel bins)
TUBELET = 2                    # video frames per token (an image is repeated to fill one)
