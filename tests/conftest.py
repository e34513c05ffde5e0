"""Shared test settings: CPU only, small, no network."""

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def one_thread():
    """One intra-op thread: these steps are tiny, and on a shared 2-core runner extra
    threads only contend (measured: ~5x slower with two). Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
