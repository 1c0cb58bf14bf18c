"""Reading untrusted files in a child process, so a crash or a memory bomb cannot take the
server down.

The readers of the field (scipy's MATLAB reader, HDF5, TIFF codecs) are written in C and
Cython; a damaged file can crash them outright (the fuzz tests found a MAT v5 file that
segfaults ``scipy.io.loadmat``). :func:`run_isolated` runs a function in a child started by a
forkserver (fast: the readers are imported once), under a private-memory limit, and turns a
crash, a kill or a timeout into :class:`~cubescope.errors.CubeError`.

Children wait their turn: at most as many run at once as the machine has cores (first come,
first served, see :class:`Turns`), and each runs at a lower CPU priority than the server, so
that ten people converting uploads at once leave page loads and band moves of everyone else
interactive.
"""

from __future__ import annotations

import collections
import multiprocessing
import multiprocessing.forkserver
import multiprocessing.spawn
import os
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from cubescope.errors import CubeError

_CONTEXT: Any = None


def _context() -> Any:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        # The readers are imported lazily by the loaders: import them once in the forkserver,
        # not again in every child (scipy.io alone takes ~150 ms; rasterio, with the boto3 it
        # pulls in, 550 ms of every GeoTIFF's conversion).
        _CONTEXT.set_forkserver_preload([
            "cubescope.io", "cubescope.store", "scipy.io", "h5py", "tifffile", "spectral.io.envi",
            "spectral.io.erdas", "rasterio", "rasterio.enums", "rasterio.windows",
        ])
    return _CONTEXT


def start_forkserver() -> None:
    """Start the forkserver and its imports now (they take about a second of CPU), so that the
    first upload's conversion does not wait for them. Later calls do nothing."""
    _context()
    with _without_main():
        multiprocessing.forkserver.ensure_running()


_START_LOCK = threading.Lock()


def _start_without_main(process: Any) -> None:
    """Start ``process`` without making the child import the caller's main script.

    multiprocessing re-imports ``__main__`` in a spawned or forkserver child so that functions
    defined there can be unpickled. Ours are module-level functions of this package; the
    caller's script (the Streamlit app, or a user's script without a ``__main__`` guard) must
    not run again in every child. Its path is left out of what the child is told to prepare.
    """
    with _without_main():
        process.start()


@contextmanager
def _without_main() -> Iterator[None]:
    """Leave the main script out of what a child (or the forkserver) is told to prepare."""
    original = multiprocessing.spawn.get_preparation_data

    def without_main(name: str) -> dict[str, Any]:
        data = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    with _START_LOCK:
        multiprocessing.spawn.get_preparation_data = without_main
        try:
            yield
        finally:
            multiprocessing.spawn.get_preparation_data = original


#: How much less CPU priority a child has than the server (``nice`` steps, 0-19).
CHILD_NICENESS = 10


class Turns:
    """First come, first served turns for at most ``slots`` holders at a time.

    Parameters
    ----------
    slots : int
        How many may hold a turn at once.
    """

    def __init__(self, slots: int) -> None:
        if slots < 1:
            raise ValueError(f"Turns need at least one slot, not {slots}.")
        self.slots = int(slots)
        self._running = 0
        self._waiting: collections.deque[object] = collections.deque()
        self._changed = threading.Condition()

    def queued(self) -> int:
        """How many wait for a turn now."""
        with self._changed:
            return len(self._waiting)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no one holds or waits for a turn; False if ``timeout`` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._running and not self._waiting, timeout)

    @contextmanager
    def turn(self, waiting: Callable[[int], None] | None = None) -> Iterator[None]:
        """Hold a turn for the ``with`` block, after those who asked first.

        ``waiting`` is called with the caller's place in the queue (1: next) whenever it
        changes, before the turn comes; not at all when a slot is free at once. If it raises
        (a page that is left stops its script this way) the place is given up.
        """
        ticket = object()
        told = None
        with self._changed:
            self._waiting.append(ticket)
        try:
            while True:
                with self._changed:
                    if self._waiting[0] is ticket and self._running < self.slots:
                        self._waiting.popleft()
                        self._running += 1
                        self._changed.notify_all()
                        break
                    place = self._waiting.index(ticket) + 1
                    if place == told or waiting is None:
                        self._changed.wait(1.0)
                        continue
                told = place
                waiting(place)  # outside the lock: it may draw on a page
        except BaseException:
            with self._changed:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._changed.notify_all()
            raise
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: The turns of this process's children: as many at once as it may use cores.
TURNS = Turns(_cores())


def _child(connection: Any, function: Callable[..., Any], args: tuple, memory_limit: int | None,
           progress: bool) -> None:
    try:
        os.nice(CHILD_NICENESS)
    except OSError:
        pass
    if memory_limit:
        # RLIMIT_DATA counts private memory (heap, anonymous maps), not the file maps a
        # conversion reads and writes through, so it bounds what can exhaust the machine while a
        # cube larger than memory still streams through.
        # Only the soft limit is lowered: the hard one may already be lower (a container, a
        # benchmark) and cannot be raised.
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        soft = memory_limit if hard == resource.RLIM_INFINITY else min(memory_limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
    try:
        if progress:
            result = function(*args, progress=lambda fraction: connection.send(("progress", float(fraction))))
        else:
            result = function(*args)
        connection.send(("ok", result))
    except CubeError as exc:
        connection.send(("cube-error", exc))  # its type and attributes too (SeveralCubes' choices)
    except MemoryError:
        connection.send(("cube-error", "Reading the file needs more memory than this server allows for one file."))
    except BaseException as exc:
        connection.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        connection.close()


def run_isolated(function: Callable[..., Any], *args: Any, memory_limit: int | None = None,
                 timeout: float = 3600.0, what: str = "the file",
                 progress: Callable[[float], None] | None = None,
                 waiting: Callable[[int], None] | None = None,
                 explain_crash: Callable[[int | None], str | None] | None = None) -> Any:
    """Call ``function(*args)`` in a child process, when its turn comes (see :data:`TURNS`), and
    return its (picklable) result.

    Parameters
    ----------
    function
        A module-level function (it is pickled by reference).
    memory_limit : int, optional
        Bytes of private memory (``RLIMIT_DATA``) the child may use.
    timeout : float
        Seconds before the child is killed.
    what : str
        How to name the input in messages.
    progress : callable, optional
        Called in this process with the fraction done, as the child reports it; ``function``
        is then called with a ``progress`` keyword argument to report through.
    waiting : callable, optional
        Called with the place in the queue while other children have the turns.
    explain_crash : callable, optional
        Given the exit code of a child that died without an answer (``-signal`` when killed by
        one); returns a message when it knows the cause, else None for the generic one.

    Raises
    ------
    CubeError
        With the child's own message, or saying that reading ``what`` crashed, ran out of
        memory or took too long.
    """
    with TURNS.turn(waiting):
        return _run(function, args, memory_limit, timeout, what, progress, explain_crash)


def _run(function: Callable[..., Any], args: tuple, memory_limit: int | None, timeout: float, what: str,
         progress: Callable[[float], None] | None,
         explain_crash: Callable[[int | None], str | None] | None) -> Any:
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, function, args, memory_limit, progress is not None),
                              daemon=True)
    _start_without_main(process)
    sender.close()
    try:
        deadline = time.monotonic() + timeout
        while True:
            if not receiver.poll(max(0.0, deadline - time.monotonic())):
                process.kill()
                raise CubeError(f"Reading {what} took longer than {timeout:.0f} s and was stopped.")
            try:
                status, value = receiver.recv()
            except EOFError:
                value, status = None, "crashed"
            if status != "progress":
                break
            if progress is not None:
                progress(value)
    finally:
        process.join(10)
        receiver.close()
    if status == "ok":
        return value
    if status == "cube-error":
        raise value
    if status == "crashed":
        known = explain_crash(process.exitcode) if explain_crash is not None else None
        if known:
            raise CubeError(known)
        raise CubeError(
            f"Reading {what} crashed the file reader (exit code {process.exitcode}): the file is damaged or "
            "not what its name says. Nothing was stored; the server is unaffected."
        )
    raise CubeError(f"{what} could not be read ({value}).")
