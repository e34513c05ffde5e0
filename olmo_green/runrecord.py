"""Moved to olmo_green/record/ (issue 22); this name stays for code written against it.

Import from olmo_green.record instead; the layout is described in olmo_green/record/layout.py.
"""

from olmo_green import record
from olmo_green.record import *  # noqa: F403

__all__ = record.__all__
