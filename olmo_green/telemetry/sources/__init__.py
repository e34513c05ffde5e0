"""Sensor sources, one file per kind, behind the interface in base.py.

Vendor libraries (pynvml, amdsmi) are imported only inside their adapter, and
only when that adapter is opened.
"""

from olmo_green.telemetry.sources.base import DeviceInfo, Reading, Source

__all__ = ["DeviceInfo", "Reading", "Source"]
