"""``--device auto|cpu|cuda``: CPU always, CUDA refused plainly without a GPU, auto falls back."""

from __future__ import annotations

import logging

import pytest
import torch

from edip_dl.device import DeviceError, resolve_device


def test_device_selection(caplog: pytest.LogCaptureFixture) -> None:
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")
    if torch.cuda.is_available():
        assert resolve_device("cuda").type == "cuda"
        return
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        resolve_device("cuda")
    with caplog.at_level(logging.INFO, logger="edip_dl.device"):
        assert resolve_device("auto").type == "cpu"
    assert "no CUDA GPU available, training on CPU" in caplog.text


def test_cuda_request_names_the_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceError, match="use --device cpu or auto"):
        resolve_device("cuda")
    assert resolve_device("auto") == torch.device("cpu")
