"""Reading untrusted files in a child process, so a crash or a memory bomb cannot take the
server down.

The readers of the field (scipy's MATLAB reader, HDF5, TIFF codecs) are written in C and
Cython; a damaged file can crash them outright (the fuzz tests found a MAT v5 file that
segfaults ``scipy.io.loadmat``). :func:`run_isolated` runs a function in a child started by a
forkserver (fast: the readers are imported once), under a private-memory limit, and turns a
crash, a kill or a timeout into :class:`~cubescope.errors.CubeError`.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.spawn
import resource
import threading
import time
from collections.abc import Callable
from typing import Any

from cubescope.errors import CubeError

_CONTEXT: Any = None


def _context() -> Any:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        # The readers are imported lazily by the loaders: import them once in the forkserver,
        # not again in every child (scipy.io alone takes ~150 ms).
        _CONTEXT.set_forkserver_preload([
            "cubescope.io", "cubescope.store", "scipy.io", "h5py", "tifffile", "spectral.io.envi",
            "spectral.io.erdas",
        ])
    return _CONTEXT


_START_LOCK = threading.Lock()


def _start_without_main(process: Any) -> None:
    """Start ``process`` without making the child import the caller's main script.

    multiprocessing re-imports ``__main__`` in a spawned or forkserver child so that functions
    defined there can be unpickled. Ours are module-level functions of this package; the
    caller's script (the Streamlit app, or a user's script without a ``__main__`` guard) must
    not run again in every child. Its path is left out of what the child is told to prepare.
    """
    original = multiprocessing.spawn.get_preparation_data

    def without_main(name: str) -> dict[str, Any]:
        data = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    with _START_LOCK:
        multiprocessing.spawn.get_preparation_data = without_main
        try:
            process.start()
        finally:
            multiprocessing.spawn.get_preparation_data = original


def _child(connection: Any, function: Callable[..., Any], args: tuple, memory_limit: int | None,
           progress: bool) -> None:
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
        connection.send(("cube-error", str(exc)))
    except MemoryError:
        connection.send(("cube-error", "Reading the file needs more memory than this server allows for one file."))
    except BaseException as exc:
        connection.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        connection.close()


def run_isolated(function: Callable[..., Any], *args: Any, memory_limit: int | None = None,
                 timeout: float = 3600.0, what: str = "the file",
                 progress: Callable[[float], None] | None = None) -> Any:
    """Call ``function(*args)`` in a child process and return its (picklable) result.

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

    Raises
    ------
    CubeError
        With the child's own message, or saying that reading ``what`` crashed, ran out of
        memory or took too long.
    """
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
        raise CubeError(value)
    if status == "crashed":
        raise CubeError(
            f"Reading {what} crashed the file reader (exit code {process.exitcode}): the file is damaged or "
            "not what its name says. Nothing was stored; the server is unaffected."
        )
    raise CubeError(f"{what} could not be read ({value}).")
