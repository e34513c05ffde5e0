"""Writing a file whole or not at all, with the usual permissions.

Every output olmo-green writes in place (report.*, -o targets, dashboard.html,
config.yaml, the checkpoint pointer) goes through here: the text is written to
a new temporary file beside the target (mkstemp: created exclusively, so a
symlink planted in a run directory is never followed), given the permissions
a plain `open()` would give (0644 under umask 022, not mkstemp's 0600), then
renamed over the target. A crash or error part-way leaves the old file, or
none, never half a file, and no temporary file behind.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from olmo_green.errors import InputFileError


def write_atomic(path: str | Path, text: str | bytes, what: str = "-o", follow: bool = False) -> Path:
    """Write `text` to `path` atomically; return `path`. A target that cannot be written is one
    line naming it and `what` chose it (a flag such as -o, or "run directory").

    A target the user named (`follow`, for -o) is followed as a shell redirection would: through
    a symlink to the file it names, and into a stream or device (/dev/stdout, a FIFO) directly,
    since those cannot be replaced. A file of a run directory is never followed: a symlink
    planted there is replaced, not written through. A user's -o goes through
    olmo_green/outputs.py `write_output`, which first refuses a target in a run's record.
    """
    path = Path(path)
    if follow and path.exists() and not path.is_dir():
        if not stat.S_ISREG(path.stat().st_mode):
            return _write_stream(path, text, what)
        path = path.resolve()  # through a symlink, as `>` would
    if path.is_dir():
        raise InputFileError(f"{path} is a directory; give {what} a file name (a file inside it)")
    if not path.parent.is_dir():
        raise InputFileError(f"{path}: folder {path.parent} does not exist; "
                             f"create it or choose another {what}")
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        with replacing(path) as tmp:
            with open(tmp, "wb") as f:
                f.write(data)
    except OSError as e:
        raise InputFileError(f"cannot write {path} ({e.strerror or e}); "
                             f"choose a writable {what} or free some space") from e
    return path


def write_if_absent(path: str | Path, text: str) -> bool:
    """Create `path` with `text`, whole or not at all, unless it exists; True if this call wrote it.

    Written aside and hard-linked in: link() never replaces a file another process wrote meanwhile.
    OSError is the caller's to word (a meter logs it; training goes on)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _write_stream(path: Path, text: str | bytes, what: str) -> Path:
    try:
        with open(path, "wb") as f:
            f.write(text.encode("utf-8") if isinstance(text, str) else text)
    except OSError as e:
        raise InputFileError(f"cannot write {path} ({e.strerror or e}); choose a writable {what}") from e
    return path


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A fresh temporary path beside `path` (0644 under umask 022) for a writer to fill; renamed
    over `path` when the block ends, removed if it raises. OSError is the caller's to word."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        os.fchmod(fd, 0o666 & ~umask())
        os.close(fd)
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def umask() -> int:
    """The process's umask, read without changing it (Linux), else by setting it back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
