"""Hardware profiles: devices, power, peak FLOPs, PUE and carbon intensity, each cited."""

from olmo_green.hardware.profiles import HardwareProfile, list_profiles, load_profile

__all__ = ["HardwareProfile", "list_profiles", "load_profile"]
