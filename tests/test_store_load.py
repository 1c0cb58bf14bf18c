"""The store under pressure: a full disk, and many conversions at once."""

import errno
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from cubescope import Cube, CubeError
from cubescope.io import isolated
from cubescope.io.isolated import Turns, run_isolated
from cubescope.store import DISK_FULL, CubeStore
from tests.writers import sample_cube

ROOT = Path(__file__).resolve().parents[1]


def leftovers(store: CubeStore) -> list[str]:
    return sorted(p.name for p in (store.root / "objects").iterdir()) + sorted(
        p.name for p in (store.root / "tmp").iterdir())


def test_no_space_while_writing_is_named_and_nothing_is_kept(tmp_path, monkeypatch):
    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    store = CubeStore(tmp_path / "store")
    with pytest.raises(CubeError, match="The cube store's disk is full") as caught:
        store.put(Cube(sample_cube()), "a" * 32)
    assert str(caught.value) == DISK_FULL
    assert "a" * 32 not in store and leftovers(store) == []


def test_file_systems_without_fallocate_still_store(tmp_path, monkeypatch):
    def unsupported(fd, offset, length):
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(os, "posix_fallocate", unsupported)
    store = CubeStore(tmp_path / "store")
    cube = Cube(sample_cube())
    store.put(cube, "a" * 32)
    np.testing.assert_array_equal(store.open("a" * 32).bsq, cube.bsq)


def test_a_sigbus_is_a_full_disk_only_when_the_disk_is_full(tmp_path, monkeypatch):
    store = CubeStore(tmp_path / "store")
    sigbus = -7
    assert store._crash_reason(-11) is None  # SIGSEGV: a broken reader, not the disk
    total = shutil.disk_usage(tmp_path).total
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(total, total, 0))
    assert store._crash_reason(sigbus) == DISK_FULL
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(total, 0, total))
    assert store._crash_reason(sigbus) is None


# A real full disk: an 8 MB tmpfs mounted in a private mount namespace (``unshare``), so the
# test needs no privileges of its own and leaves the machine's mounts alone.
FULL_DISK = textwrap.dedent("""
    import json, os, subprocess, sys
    import numpy as np
    from pathlib import Path
    from cubescope import CubeError
    from cubescope.io.isolated import run_isolated
    from cubescope.store import CubeStore
    from tests.writers import fill_sparse_file

    work, disk = Path(sys.argv[1]), Path(sys.argv[2])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], check=True)
    store = CubeStore(disk / "store")
    big = work / "big.npy"
    np.save(big, np.ones((40, 50, 1200), "f4"))  # 9.6 MB: more than the disk holds
    small = work / "small.npy"
    np.save(small, np.arange(4 * 5 * 6, dtype="f4").reshape(4, 5, 6))
    outcome = {}

    def attempt(name, call):
        try:
            call()
            outcome[name] = "stored"
        except CubeError as exc:
            outcome[name] = str(exc)
        outcome[name + " left"] = sorted(p.name for p in (store.root / "tmp").iterdir()) + sorted(
            p.name for p in (store.root / "objects").iterdir())

    attempt("conversion", lambda: store.put_path(big, "b" * 32))
    with open(big, "rb") as upload:
        attempt("upload", lambda: store.put_files([("big.npy", upload)]))
    attempt("mapped write", lambda: run_isolated(
        fill_sparse_file, str(store.root / "tmp" / "sparse-0-x"), 12 * 2**20, explain_crash=store._crash_reason))
    os.remove(store.root / "tmp" / "sparse-0-x")
    attempt("afterwards", lambda: store.put_path(small, "c" * 32))
    outcome["sum"] = float(np.asarray(store.open("c" * 32).bsq).sum())
    print(json.dumps(outcome))
""")


def test_a_real_full_disk(tmp_path):
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("user namespaces (unshare -rm) are not available here")
    (tmp_path / "disk").mkdir()
    done = subprocess.run(["unshare", "-rm", sys.executable, "-c", FULL_DISK, str(tmp_path), str(tmp_path / "disk")],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    outcome = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    for case in ("conversion", "upload", "mapped write"):
        assert outcome[case] == DISK_FULL, (case, outcome[case])
    for case in ("conversion", "upload"):
        assert outcome[case + " left"] == [], (case, outcome[case + " left"])
    assert outcome["afterwards"] == "stored" and outcome["afterwards left"] == ["c" * 32]
    assert outcome["sum"] == float(np.arange(120).sum())


def test_children_run_at_a_lower_priority_than_the_server():
    assert run_isolated(os.nice, 0) == min(19, os.nice(0) + isolated.CHILD_NICENESS)


def test_turns_are_first_come_first_served_with_places_told():
    turns = Turns(2)
    order, places = [], {}
    release = threading.Event()
    started = threading.Barrier(3)

    def holder(name):
        with turns.turn():
            order.append(name)
            started.wait()
            release.wait(30)

    def waiter(name):
        with turns.turn(lambda place: places.setdefault(name, []).append(place)):
            order.append(name)

    holders = [threading.Thread(target=holder, args=(n,)) for n in ("h1", "h2")]
    for t in holders:
        t.start()
    started.wait(30)  # both slots are held
    waiters = []
    for name in ("w1", "w2", "w3"):
        waiters.append(threading.Thread(target=waiter, args=(name,)))
        waiters[-1].start()
        while turns.queued() < len(waiters):  # each joins the queue before the next
            threading.Event().wait(0.01)
    release.set()
    for t in holders + waiters:
        t.join(30)
    assert order[2:] == ["w1", "w2", "w3"]
    assert places["w1"][0] == 1 and places["w2"][0] == 2 and places["w3"][0] == 3
    assert all(p == sorted(p, reverse=True) for p in places.values())  # places only move up
    assert turns.queued() == 0


def test_never_more_holders_than_slots():
    turns = Turns(2)
    inside, most = [0], [0]
    lock = threading.Lock()

    def work():
        with turns.turn():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            threading.Event().wait(0.02)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert most[0] == 2


def test_a_waiter_that_leaves_gives_up_its_place():
    turns = Turns(1)
    release = threading.Event()
    holding = threading.Event()

    def holder():
        with turns.turn():
            holding.set()
            release.wait(30)

    class Left(Exception):
        pass

    def leave(place):
        raise Left

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(30)
    with pytest.raises(Left):
        with turns.turn(leave):
            pass
    assert turns.queued() == 0
    release.set()
    thread.join(30)
    with turns.turn():  # the slot is free again
        pass
