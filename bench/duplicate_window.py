"""The duplicate window of `oom-input --kmsg --state-file`: from the moment a record starts
being written to stdout to the moment the state file that covers it has been renamed into
place. A hard kill (SIGKILL, power loss) inside this window makes a restart write the record
again (same ``id``, same everything); outside it nothing repeats. Triggers N real OOM kills
(root, cgroup v1 memory controller), follows /dev/kmsg in-process, prints median/p99/max.

    sudo .venv/bin/python bench/duplicate_window.py --kills 20 [--state-dir /var/lib/oom-input]

The state file's fsync dominates: the figure depends on the file system under ``--state-dir``.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from kernel_oom import real_oom_unavailable_reason, trigger_oom
from oom_input.assembler import Assembler
from oom_input.live import KmsgFollower, LiveOptions
from oom_input.pipeline import Pipeline
from oom_input.sinks.jsonl import JsonLinesSink
from oom_input.statefile import Position, StateFile
from oom_input.types import OomRecord


class TimedSink(JsonLinesSink):
    """JSON lines into memory, noting when each record's write started."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO())
        self.started: list[float] = []

    def write(self, record: OomRecord) -> None:
        self.started.append(time.perf_counter())
        super().write(record)


class TimedStateFile(StateFile):
    """The state file, noting when each save (temp file, fsync, rename) returned."""

    saved: list[float]

    def save(self, position: Position, boot_time_us: int | None = None) -> None:
        super().save(position, boot_time_us)
        self.saved.append(time.perf_counter())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--state-dir", default=None, help="where the state file lives")
    args = parser.parse_args()
    reason = real_oom_unavailable_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(dir=args.state_dir) as directory:
        path = str(Path(directory) / "state")
        follower = KmsgFollower(LiveOptions(state_file=path), print)
        state = TimedStateFile(path, print)
        state.saved = []
        follower._state = state  # the same state file, timed
        sink = TimedSink()
        follower.open()
        pipeline = Pipeline(decoder=follower.decoder, sink=sink, assembler=Assembler())
        thread = threading.Thread(target=follower.run, args=(pipeline,))
        thread.start()
        windows_ms = []
        try:
            for i in range(args.kills):
                count = len(sink.started)
                trigger_oom(f"dup-window-{i}", comm="dup-window")
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    if (
                        len(sink.started) > count
                        and state.saved
                        and state.saved[-1] > sink.started[-1]
                    ):
                        break
                    time.sleep(0.01)
                start = sink.started[-1]
                end = min(t for t in state.saved if t > start)
                windows_ms.append((end - start) * 1000)
        finally:
            follower.stop()
            thread.join()
            follower.close()
    windows_ms.sort()
    p99 = windows_ms[min(len(windows_ms) - 1, round(0.99 * (len(windows_ms) - 1)))]
    print(
        f"duplicate window over {len(windows_ms)} real kills: median "
        f"{statistics.median(windows_ms):.2f} ms, p99 {p99:.2f} ms, max {windows_ms[-1]:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
