"""fennec: rank pre-trained models for a new image task without a forward pass through the zoo."""

__version__ = "0.1.0"
