"""Request starts as the wire saw them: ``tcpdump`` on loopback, each packet stamped by the kernel as it passed.

A server's own count of request starts (the emulator's ``max_per_second``, its quota window) is stamped when its event
loop gets to a request: a pause of that process (a garbage collection, the machine's scheduler) holds the requests
that arrive meanwhile and then stamps them together, so its 1 s window can hold more than the client sent in any
second. The kernel stamps each packet as it crosses the loopback interface, whatever either process is doing: the
count a real API's gateway would see. ``quota_fidelity.py --wire`` reports both, to tell the client's pacing apart
from the server's stamping.

Needs ``tcpdump`` (Debian's package) and the right to capture (root, or CAP_NET_RAW).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from bulkdelete.emulator.state import max_in_window


class WireCapture:
    """The request packets captured so far: those to ``port`` whose TCP payload starts with ``method``."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def times(self) -> list[float]:
        """Kernel timestamps (epoch seconds) of the captured request starts, in order."""
        stamps = []
        for line in self.out.read_text().splitlines():
            head = line.split(" ", 1)[0]
            if head[:1].isdigit():
                stamps.append(float(head))
        return sorted(stamps)

    def max_per_second(self) -> int:
        """The most request starts in any 1 s sliding window, as the emulator counts (``(t - 1, t]``)."""
        return max_in_window(self.times(), 1.0)


def can_capture() -> str | None:
    """None when ``tcpdump`` can capture on loopback here, else why not."""
    if shutil.which("tcpdump") is None:
        return "tcpdump is not installed (apt-get install tcpdump)"
    probe = subprocess.run(["tcpdump", "-i", "lo", "-c", "0", "-n"], capture_output=True, text=True, timeout=10)
    if "permission" in probe.stderr.lower() or "not permitted" in probe.stderr.lower():
        return "tcpdump may not capture here (run as root, or give it CAP_NET_RAW)"
    return None


@contextlib.contextmanager
def wire_capture(port: int, method: bytes, out: Path) -> Iterator[WireCapture]:
    """Capture the request starts to ``127.0.0.1:port`` while the block runs; read them once it is over."""
    word = int.from_bytes(method[:4].ljust(4, b" "), "big")
    expression = f"tcp dst port {port} and (tcp[((tcp[12:1] & 0xf0) >> 2):4] = {word:#010x})"
    with out.open("w") as sink:
        proc = subprocess.Popen(
            ["tcpdump", "-i", "lo", "-n", "-tt", "-q", "-B", "16384", "-l", expression],
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        proc.stderr.readline()  # "listening on lo, ...": the capture has started
        try:
            yield WireCapture(out)
        finally:
            time.sleep(0.5)  # the last packets through the capture buffer
            proc.terminate()
            _, err = proc.communicate(timeout=10)
    if not re.search(r"^0 packets dropped by kernel", err, re.MULTILINE):
        raise RuntimeError(f"tcpdump lost packets, the count would be short: {err.strip()}")
