"""EDIP forecast API: the registry champion over REST, every prediction logged."""

__version__ = "0.1.0"
