"""process.terminal: the pty, the console socket, the caller's terminal."""
import array
import os
import select
import socket
import threading
import time

import pytest

from conftest import wait_for
from pty_lib import converse


class ConsoleSocket:
    """A --console-socket receiver (what conmon and runc's recvtty do)."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.master = None
        self.payload = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        conn, _ = self.sock.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 1024, 4)
        self.payload = msg
        self.master = fds[0] if fds else None
        conn.close()

    def read_until(self, needle, timeout=10):
        data = b""
        end = time.time() + timeout
        while needle not in data and time.time() < end:
            r, _, _ = select.select([self.master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
        return data.decode(errors="replace")

    def close(self):
        if self.master is not None:
            os.close(self.master)
        self.sock.close()


def test_console_socket_and_console_size(olrun, bundle, tmp_path):
    cs = ConsoleSocket(tmp_path / "console.sock")
    bundle.process["terminal"] = True
    bundle.process["consoleSize"] = {"height": 30, "width": 100}
    bundle.sh("tty; stty size; stat -c %t:%T /dev/console $(tty); echo END")
    cid = olrun.new_id()
    try:
        olrun.run("create", "--console-socket", cs.path, "-b", bundle.path, cid, check=True)
        # The master arrived before create returned, with a payload.
        cs.thread.join(timeout=5)
        assert cs.master is not None and cs.payload
        olrun.run("start", cid, check=True)
        out = cs.read_until(b"END").replace("\r", "").splitlines()
        assert out[0].startswith("/dev/pts/"), out
        assert out[1] == "30 100"
        assert out[2] == out[3], "/dev/console is not the pty: %s" % out
        assert wait_for(lambda: olrun.state(cid)["status"] == "stopped")
        olrun.run("delete", cid, check=True)
    finally:
        cs.close()


def test_terminal_needs_console_socket(olrun, bundle):
    bundle.process["terminal"] = True
    bundle.write()
    p = olrun.run("create", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "--console-socket is required" in p.stderr
    p = olrun.run("run", "-d", "-b", bundle.path, olrun.new_id())
    assert p.returncode == 1 and "--console-socket is required" in p.stderr


def test_foreground_run_uses_callers_terminal(olrun, bundle):
    bundle.process["terminal"] = True
    bundle.sh("tty; read line; echo got:$line; exit 9")
    cid = olrun.new_id()
    status, text, restored = converse(olrun.cmd("run", "-b", bundle.path, cid), b"/dev/pts/", b"hello\r")
    assert status == 9, text
    assert "/dev/pts/" in text and "got:hello" in text
    # The caller's terminal was put back as it was.
    assert restored
