"""Where a model trains: ``--device auto|cpu|cuda``.

Why explicit: CI and the demo run on CPU, a workstation may have CUDA; asking for CUDA where there
is none is a configuration error (said plainly), while ``auto`` falls back to CPU with a log line.
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger(__name__)


class DeviceError(RuntimeError):
    """The requested device is not available."""


def resolve_device(requested: str) -> torch.device:
    """``cuda`` (refused without a GPU), ``cpu``, or ``auto`` (CUDA when present, else CPU)."""
    if requested == "cpu":
        return torch.device("cpu")
    if requested == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(
                "--device cuda was requested but no CUDA GPU is available "
                "(torch.cuda.is_available() is False); use --device cpu or auto"
            )
        return torch.device("cuda")
    if requested == "auto":
        if torch.cuda.is_available():
            log.info("device auto: CUDA (%s)", torch.cuda.get_device_name(0))
            return torch.device("cuda")
        log.info("device auto: no CUDA GPU available, training on CPU")
        return torch.device("cpu")
    raise DeviceError(f"unknown device {requested!r}: use auto, cpu or cuda")
