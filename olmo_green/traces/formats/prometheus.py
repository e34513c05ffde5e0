"""Placeholder until the reader lands: claims no file."""

from __future__ import annotations


def sniff(head: str) -> bool:
    return False


def read_batches(path, options, stats, node):
    raise NotImplementedError
