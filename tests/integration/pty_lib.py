"""Run a command on a pty of our own, as a user at a terminal would, and
answer it when a prompt shows."""
import os
import pty
import select
import subprocess
import termios
import time


def converse(argv, prompt, answer, env=None, deadline=20, until=None, winsize=None):
    """Start argv with a new pty as its terminal, write `answer` once
    `prompt` shows in its output, and read until it exits (or `until` shows
    up).  Returns (status, output text, terminal unchanged)."""
    master, slave = pty.openpty()
    try:
        if winsize:
            import fcntl
            import struct
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", winsize[0], winsize[1], 0, 0))
        before = termios.tcgetattr(slave)
        proc = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        data, sent = b"", False
        end = time.time() + deadline
        while time.time() < end and not (until and until in data):
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    data += os.read(master, 4096)
                except OSError:
                    break
            if not sent and prompt in data:
                os.write(master, answer)
                sent = True
            if proc.poll() is not None and not r:
                break
        status = proc.wait(timeout=60)
        return status, data.decode(errors="replace"), termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)
