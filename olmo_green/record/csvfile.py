"""Reading record files whatever a kill left: their text, and appended CSV files (steps, the open chunk)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from olmo_green.errors import InputFileError


def read_text(path: Path) -> str:
    """A record file's text: bytes that are not UTF-8 become U+FFFD; a path that is not a plain file
    (a FIFO would block the read forever) or cannot be read is an InputFileError of one line."""
    if path.exists() and not path.is_file():
        raise InputFileError(f"{path}: not a regular file; a run record holds plain files")
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as e:
        raise InputFileError(f"{path}: cannot be read ({e.strerror or e})") from e


def read_csv_tolerant(path: Path, columns: list[str]) -> pd.DataFrame:
    """Read an appended CSV; a torn last line (killed mid-write) is dropped.

    Garbage never stops a read: bytes that are not UTF-8 become U+FFFD, a row with
    more fields than the header (a torn line glued to the next) is skipped, a BOM is
    ignored. `frame.attrs["bad_rows"]` counts the data lines that gave no row.
    A file that cannot be read at all (a directory, no permission, no header) is
    an InputFileError of one line.
    """
    text = read_text(path).removeprefix("\ufeff")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    lines = [line for line in text.splitlines() if line.strip()]
    header = [name.strip() for name in lines[0].split(",")] if lines else list(columns)
    if not set(header) & set(columns):
        raise InputFileError(f"{path}: its first line is not a header of {', '.join(columns[:3])}, ...; "
                             "the file is not one olmo-green wrote, or its header was lost")
    if len(lines) <= 1:
        frame = pd.DataFrame(columns=columns)
        frame.attrs["bad_rows"] = 0
        return frame
    from io import StringIO

    # Labels stay text: a device "0" or a node "001" must not become a number.
    labels = {c: "string" for c in ("node", "device", "domain", "source", "phase")}
    frame = pd.read_csv(StringIO("\n".join(lines) + "\n"), dtype=labels, on_bad_lines="skip",
                        skipinitialspace=True)
    frame.attrs["bad_rows"] = len(lines) - 1 - len(frame)
    return frame

