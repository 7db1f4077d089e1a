"""`serve` on several processes: waitress in each, one listening socket shared by all.

Why: waitress runs a request's Python code under one GIL, so one process uses one
core however many threads it has; the benchmark (scripts/bench.py) showed the server
pegged at 100% of one core on a 2-core box while the other core idled. SQLite in WAL
mode is made for several processes on one file (readers never block; writers queue on
the busy timeout), and every request already reads the token and sync switch from the
database, so no state needs sharing. The parent binds the socket, forks the workers
and supervises them: if one dies, it stops the others and exits non-zero for the
service manager (systemd, docker) to restart the whole appliance.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time

log = logging.getLogger(__name__)


def can_fork() -> bool:
    return hasattr(os, "fork")


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind and listen once, before forking, so every worker accepts on it."""
    sock = socket.create_server((host, port), reuse_port=False, backlog=1024)
    sock.setblocking(False)
    return sock


# Seconds a worker pauses after accepting, per connection it holds (at most ACCEPT_CAP).
ACCEPT_PAUSE = 0.002
ACCEPT_CAP = 0.01


def balance_accepts(server) -> None:
    """Make a waitress server that holds connections slower to take the next one.

    All workers wait on one listening socket and the first to call accept() wins,
    so connections opened together split at random: with 4 keep-alive clients the
    benchmark saw 4/0 splits beside 2/2 ones, one worker doing all the work and the
    filter GET rate halving from one run to the next. A pause after each accept, in
    proportion to the connections held, lets the less loaded worker win the next
    race. It delays only this worker's socket I/O (not its request threads), only
    right after an accept; Entra keeps its connections open.
    """
    accept = server.handle_accept

    def handle_accept():
        accept()
        time.sleep(min(ACCEPT_CAP, ACCEPT_PAUSE * len(server.active_channels)))

    server.handle_accept = handle_accept


def run_workers(count: int, serve_one) -> int:
    """Fork `count` workers, each calling `serve_one(index)`; return the exit status.

    `serve_one` returns when its server stops (SIGTERM or SIGINT); the parent sends
    SIGTERM to every worker when it is told to stop or when one worker exits.
    """
    children: dict[int, int] = {}
    sys.stdout.flush()  # or each worker would repeat what the parent printed
    sys.stderr.flush()
    for index in range(count):
        pid = os.fork()
        if pid == 0:  # the worker
            status = 0
            try:
                serve_one(index)
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 0
            except KeyboardInterrupt:  # Ctrl-C reaches every process of the group
                status = 0
            except BaseException:  # noqa: BLE001 - reported, then the worker exits
                log.exception("worker %d stopped on an error", index)
                status = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        children[pid] = index

    state = {"stopping": False}

    def _stop(*_args):
        state["stopping"] = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, _stop)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except KeyboardInterrupt:
            _stop()
            continue
        except ChildProcessError:
            break
        index = children.pop(pid, None)
        exit_code = os.waitstatus_to_exitcode(code)
        if not state["stopping"] and index is not None:
            log.error("worker %d exited (status %s); stopping the appliance", index, exit_code)
            status = exit_code if exit_code > 0 else 1
            _stop()
    return status
