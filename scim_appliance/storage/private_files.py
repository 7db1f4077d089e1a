"""Files the appliance writes: private to its owner (mode 0600) from the moment they exist.

The undo file and a migration plan list every user; `config.py` holds the SECRET_KEY.
Creating a file with the default mode and narrowing it afterwards leaves a moment in
which anyone on the machine can open it (and keep it open), so every file is created
by `os.open` with mode 0600; the umask can only narrow that further.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO

PRIVATE_MODE = 0o600
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FLAGS = {
    "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,  # append, creating it if need be
    "x": os.O_WRONLY | os.O_CREAT | os.O_EXCL,  # a new file; FileExistsError otherwise
}


def open_private(path: str | Path, mode: str, *, encoding: str = "utf-8",
                 newline: str | None = None) -> IO[str]:
    """Open `path` for text writing (`a` append, `x` exclusive create), created 0600.

    An existing file keeps its mode: it is the operator's.
    """
    fd = os.open(path, _FLAGS[mode] | _CLOEXEC, PRIVATE_MODE)
    try:
        return os.fdopen(fd, "a" if mode == "a" else "w", encoding=encoding, newline=newline)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: str | Path, text: str, *, encoding: str = "utf-8") -> None:
    """Replace `path` with `text`: written to a new 0600 file beside it, then renamed
    over it, so a reader sees the old content or the new, and never a wider mode."""
    path = Path(path)
    # mkstemp creates the file O_EXCL with mode 0600.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise
