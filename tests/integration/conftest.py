"""Real services for the integration tests: an SMTP sink that records every message, and
Celery workers as separate processes on Redis against the test database."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


class Sink:
    """An SMTP server that records what it accepts and can stop answering after ``hold_after``
    messages, so a worker can be caught in the middle of a batch."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.hold_after: int | None = None
        self.holding = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            hold = self.hold_after is not None and len(self.messages) >= self.hold_after
            if hold:
                self.holding += 1
        if hold:
            # Never answer: the client is stuck waiting for "250", the message not accepted.
            await asyncio.sleep(3600)
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self._lock:
            return [str(m["Message-ID"]) for m in self.messages]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sink() -> Iterator[Sink]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.port = controller.port  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def broker() -> Iterator[None]:
    """An empty Redis database for the broker; emptied again afterwards."""
    from reengagement.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()  # type: ignore[attr-defined]
    yield
    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()  # type: ignore[attr-defined]


class Workers:
    def __init__(self, sink: Sink, tmp_path: Path) -> None:
        self.sink = sink
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        *,
        batch_size: int = 200,
        concurrency: int = 2,
        record_every: int = 25,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """A worker process; ``env`` adds settings (a channel provider's, say)."""
        db = connection.settings_dict
        extra = env or {}
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.sink.port),  # type: ignore[attr-defined]
            "EMAIL_TIMEOUT": "600",
            "DELIVERY_BATCH_SIZE": str(batch_size),
            "DELIVERY_RECORD_EVERY": str(record_every),
            "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL,
            "VAR_DIR": str(self.tmp_path / f"worker{len(self.processes)}"),
            **extra,
        }
        log = (self.tmp_path / f"worker{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "reengagement", "worker",
                "--pool=prefork", f"--concurrency={concurrency}", "-Q", "celery",
                "--loglevel=INFO", "--without-gossip", "--without-mingle",
                f"--hostname=test{len(self.processes)}@%h",
            ],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and its pool children at once, like a lost machine."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@pytest.fixture
def workers(sink: Sink, broker: None, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(sink, tmp_path)
    try:
        yield pool
    finally:
        pool.stop_all()


def wait_for(condition: Callable[[], bool], *, timeout: float = 60, what: str = "") -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.1)
