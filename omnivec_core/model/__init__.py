"""The OmniVec model: import `OmniVec` and build it from a `ModelConfig`."""
from .omnivec import Encoded, MAEOutput, OmniVec

__all__ = ["OmniVec", "Encoded", "MAEOutput"]
