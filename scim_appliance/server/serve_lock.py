"""The lock `serve` holds on its instance folder, so a restore knows it is not alone.

An flock on `<instance>/serve.lock`, taken shared by each `serve` before it forks its
workers (they inherit it) and dropped by the kernel when the last of them exits, even
after kill -9: no stale lock file to clean up, no PID to trust. `restore` and
`db upgrade` take it exclusively without waiting; if they cannot, the appliance is
serving from this folder and they refuse.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no lock, nothing is refused
    fcntl = None

LOCK_NAME = "serve.lock"


class ServeLock:
    def __init__(self, instance_path: str | os.PathLike):
        self.path = Path(instance_path) / LOCK_NAME
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        """Take the lock alone if no `serve` holds it; True when this process has it."""
        return self._lock(exclusive=True)

    def hold_shared(self) -> bool:
        """What `serve` takes: several may serve one folder, none while a restore runs."""
        return self._lock(exclusive=False)

    def _lock(self, *, exclusive: bool) -> bool:
        if fcntl is None:
            return True
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def record_address(self, host: str, port: int) -> None:
        """Note where this `serve` listens, so `endpoint` and `notify test` run from
        another shell report the port actually served (`serve --port 9000`)."""
        if self._fd is None:
            return
        data = json.dumps({"host": host, "port": port, "pid": os.getpid()}).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def serving_address(self) -> tuple[str, int] | None:
        """(host, port) of a `serve` running from this folder, else None."""
        if not self.path.exists() or self.try_acquire():
            self.release()
            return None
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "null")
            return str(data["host"]), int(data["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
