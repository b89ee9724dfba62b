"""Child processes that always end: each runs in its own session (process group), so stopping
it stops everything it started (a Celery worker's pool children included)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

PYTHON = sys.executable


class PhaseFailed(RuntimeError):
    pass


class Proc:
    def __init__(self, name: str, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.name = name
        self.popen = popen
        self.log = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 20.0) -> None:
        """SIGTERM to the child (for Celery, a warm shutdown: tasks under way finish), then
        SIGKILL to its whole group after ``grace`` or once it is gone."""
        if self.popen.poll() is None:
            # Only the main process: pool processes told directly would die mid-task.
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace)
        self._reap_group()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def _reap_group(self) -> None:
        # Pool children can outlive their parent for a moment; none may outlive the benchmark.
        self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)


class Processes:
    """Every long-running child of one benchmark run; ``with`` stops them all on the way out."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[Proc] = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Proc:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def stop(self, proc: Proc) -> None:
        proc.stop()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()

    def run(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], *, timeout: float
    ) -> None:
        """Run a child to its end; a non-zero exit or running past ``timeout`` is a failure."""
        proc = self.start(name, argv, env)
        try:
            code = proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PhaseFailed(
                f"{name} still running after {timeout:.0f} s; log {proc.log}:\n{proc.log_tail()}"
            ) from None
        finally:
            self.stop(proc)
        if code != 0:
            raise PhaseFailed(f"{name} exited with {code}; log {proc.log}:\n{proc.log_tail()}")


def wait_for_log(proc: Proc, needle: str, *, timeout: float) -> None:
    """Until ``needle`` shows in the child's log (e.g. Celery's "ready."), bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.running():
            raise PhaseFailed(f"{proc.name} exited early; log {proc.log}:\n{proc.log_tail()}")
        try:
            if needle in proc.log.read_text(errors="replace"):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise PhaseFailed(f"{proc.name} not ready after {timeout:.0f} s:\n{proc.log_tail()}")
