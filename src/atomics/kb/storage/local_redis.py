"""A throwaway ``redis-server`` on a free loopback port, in a temporary directory: for the
tests, the demo and the benchmarks (never for production).

>>> with LocalRedis() as server:  # doctest: +SKIP
...     kb = KnowledgeBase.connect(server.url, namespace="demo")

The server binary is found on ``PATH`` (``scripts/ensure-redis`` installs Debian's
``redis-server`` when it is missing). :meth:`LocalRedis.stop` stops the server by its pid
(``SIGTERM``, then ``SIGKILL``) and removes the directory; :meth:`LocalRedis.kill` and
:meth:`LocalRedis.start` again on the same port and directory are for fault tests (with
``appendonly=True`` what was acknowledged comes back).

``python -m atomics.kb.storage.local_redis`` starts one and prints its URL until stopped.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from types import TracebackType

__all__ = ["LocalRedis", "RedisServerMissing"]


class RedisServerMissing(RuntimeError):
    """No ``redis-server`` binary (``scripts/ensure-redis`` installs it)."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalRedis:
    """A ``redis-server`` of this process's own (see the module docstring).

    ``appendonly``: append-only persistence with ``appendfsync always`` (every
    acknowledged write is on disk before its reply), so that a server killed and started
    again has every acknowledged write.
    """

    def __init__(self, *, appendonly: bool = False, binary: str | None = None) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise RedisServerMissing(
                "redis-server is not installed (scripts/ensure-redis installs it: "
                "apt-get install redis-server, as root)"
            )
        self.binary = found
        self.appendonly = appendonly
        self.directory = tempfile.mkdtemp(prefix="atomics-redis-")
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``, the server's URL (its port is 0 until
        :meth:`start`; the same port after :meth:`kill` and :meth:`start` again)."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server process's id, or None while it is not running (before :meth:`start`,
        after :meth:`kill` or :meth:`stop`)."""
        return None if self.process is None else self.process.pid

    def start(self, timeout: float = 20.0) -> LocalRedis:
        """Start the server (on a free port the first time, on the same port after
        :meth:`kill`); return once it answers ``PING``."""
        for _attempt in range(5):
            port = self.port or _free_port()
            args = [
                self.binary,
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--protected-mode", "yes",
                "--dir", self.directory,
                "--save", "",
                "--daemonize", "no",
                "--logfile", os.path.join(self.directory, "redis.log"),
                "--appendonly", "yes" if self.appendonly else "no",
                "--appendfsync", "always",
                # named in the process list, so that one orphaned by a killed test run can
                # be found and stopped (scripts/run-tests does)
                "--proc-title-template", "{title} {listen-addr} atomics-local-redis",
            ]  # fmt: skip
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
            )
            if self._answers(port, timeout):
                self.port = port
                return self
            self._stop_process(signal.SIGKILL)
            if self.port:  # the same port again (a restart): no other port will do
                break
        raise RuntimeError(f"redis-server did not start (log: {self.directory}/redis.log)")

    def _answers(self, port: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                return False  # exited: e.g. the port was taken meanwhile
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)  # polling a process that gives no other signal of readiness
        return False

    def _stop_process(self, sig: int) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, sig)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)

    def kill(self) -> None:
        """``SIGKILL`` the server (a crash); :meth:`start` brings it back on its port."""
        self._stop_process(signal.SIGKILL)

    def stop(self) -> None:
        """Stop the server by its pid and remove its directory. Idempotent."""
        self._stop_process(signal.SIGTERM)
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalRedis:
        return self if self.process is not None else self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main() -> int:  # pragma: no cover - a command for humans
    """Start a server, print its URL, stop it on Ctrl-C or SIGTERM."""
    server = LocalRedis(appendonly="--appendonly" in sys.argv).start()
    print(server.url, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while server.process is not None and server.process.poll() is None:
            time.sleep(1)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
