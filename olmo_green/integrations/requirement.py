"""The optional library an integration needs: present, and of a supported major version.

An integration module calls `require` before importing its library, so that a
missing or unsupported library is one line naming the extra, not a traceback
from deep inside the library.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util

from olmo_green.errors import GreenError


class IntegrationImportError(GreenError, ImportError):
    """The library of an integration is missing or of an unsupported version (one line)."""


def require(distribution: str, module: str, extra: str, majors: range) -> str:
    """The installed version of `distribution`; one line naming the extra if unusable.

    `majors` is the supported range of major versions, e.g. range(3, 4) for >=3.0,<4.
    """
    install = f"pip install 'olmo-green[{extra}]'"
    if importlib.util.find_spec(module) is None:
        raise IntegrationImportError(f"olmo_green.integrations.{module} needs {distribution}, "
                                     f"which is not installed: {install}")
    try:
        version = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:  # a source checkout on sys.path: trust it
        return "unknown"
    check_major(distribution, version, majors, install)
    return version


def check_major(distribution: str, version: str, majors: range, install: str) -> None:
    """Refuse a version whose major number is outside `majors` (the supported range)."""
    supported = f">={majors.start}.0,<{majors.stop}"
    head = version.split(".", 1)[0]
    if not head.isdigit() or int(head) not in majors:
        raise IntegrationImportError(f"olmo-green supports {distribution}{supported}, found {version}: "
                                     f"{install}")
