"""Timing helpers: every benchmark compares with its peer in the same run and prints ratios."""

from __future__ import annotations

import contextlib
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def timeit(function: Callable[[], object], repeat: int = 15, warmup: int = 2) -> float:
    """Median wall time of ``function`` in seconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def large_cube(rows: int = 1024, cols: int = 1024, bands: int = 224, seed: int = 0) -> np.ndarray:
    """A (bands, rows, cols) float32 cube with smooth spectra and noise, built band by band."""
    rng = np.random.default_rng(seed)
    out = np.empty((bands, rows, cols), np.float32)
    base = rng.random((rows, cols), dtype=np.float32)
    for b in range(bands):
        out[b] = base * np.float32(1 + 0.5 * np.sin(b / 20)) + rng.random((rows, cols), dtype=np.float32) * 0.05
    return out


def report(title: str, rows: list[tuple[str, float, str]]) -> None:
    """Print ``(name, seconds, note)`` rows as a small table."""
    print(f"\n## {title}")
    width = max(len(name) for name, _, _ in rows)
    for name, seconds, note in rows:
        print(f"  {name:<{width}}  {seconds * 1e3:9.2f} ms  {note}")


def check(label: str, value: float, goal: float, better: str = "lower") -> bool:
    ok = value <= goal if better == "lower" else value >= goal
    print(f"  [{'ok' if ok else 'MISSED'}] {label}: {value:.3g} (goal {'<=' if better == 'lower' else '>='} {goal:g})")
    return ok


@contextlib.contextmanager
def git_worktree(folder: Path, rev: str):
    """The project at commit ``rev``, checked out with ``git worktree`` under ``folder``
    (removed afterwards); None, with a note, when git or the commit is not there."""
    root = Path(__file__).resolve().parents[1]
    tree = folder / "previous"
    if shutil.which("git") is None or subprocess.run(
            ["git", "-C", str(root), "worktree", "add", "--detach", str(tree), rev], capture_output=True).returncode:
        print(f"  (peer skipped: cannot check out {rev})")
        yield None
        return
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], capture_output=True)
