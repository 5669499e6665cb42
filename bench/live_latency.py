"""Live latency: how long after the kernel prints a kill line does `oom-input --kmsg` write its
record? Triggers N real OOM kills (root, cgroup v1 memory controller) and prints median/p99.

    sudo .venv/bin/python bench/live_latency.py --kills 20

Two figures per kill:
- printk -> record: from the kill line's own kernel timestamp (turned into wall time with the boot
  time oom-input derives from CLOCK_REALTIME - CLOCK_MONOTONIC) to when this script reads the
  record from oom-input's stdout. It includes the kernel's deferred wake-up of /dev/kmsg readers
  (irq_work, up to a timer tick) and the clock offset between printk time and CLOCK_MONOTONIC.
- readable -> record: from when a bare poll()/read() loop in this script (a second /dev/kmsg
  reader) got the kill line to when the record arrived: oom-input's own cost plus the pipe.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_live import OomInput

from kernel_oom import real_oom_unavailable_reason, trigger_oom


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    args = parser.parse_args()
    reason = real_oom_unavailable_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 1
    seen: dict[int, float] = {}  # pid -> when the bare reader got its kill line
    stop = threading.Event()
    watcher = threading.Thread(target=_watch_kmsg, args=(seen, stop), daemon=True)
    watcher.start()
    oom = OomInput()
    from_printk: list[float] = []
    from_readable: list[float] = []
    try:
        oom.wait_started()
        for i in range(args.kills):
            capture = trigger_oom(f"latency-{i}", comm=f"lat-{i}")
            oom.records(pid=capture.pid, timeout=10)
            arrival, record = next((t, r) for t, r in oom.arrivals if r["pid"] == capture.pid)
            died = datetime.fromisoformat(record["time_of_death"].replace("Z", "+00:00"))
            from_printk.append((arrival - died.timestamp()) * 1000)
            from_readable.append((arrival - seen[capture.pid]) * 1000)
            time.sleep(0.05)
    finally:
        oom.stop()
        stop.set()
    print(f"kills: {len(from_printk)}")
    _show("printk -> record", from_printk)
    _show("readable -> record", from_readable)
    return 0


def _show(what: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    print(
        f"{what}: median {statistics.median(ms):.2f} ms, p99 {p99:.2f} ms, "
        f"min {ms[0]:.2f} ms, max {ms[-1]:.2f} ms"
    )


def _watch_kmsg(seen: dict[int, float], stop: threading.Event) -> None:
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    os.lseek(fd, 0, os.SEEK_END)
    while not stop.is_set():
        select.select([fd], [], [], 0.2)
        while True:
            try:
                data = os.read(fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:
                continue
            now = time.time()
            text = data.split(b";", 1)[-1]
            if b"Killed process " in text:
                pid = int(text.split(b"Killed process ", 1)[1].split(b" ", 1)[0])
                seen.setdefault(pid, now)


if __name__ == "__main__":
    sys.exit(main())
