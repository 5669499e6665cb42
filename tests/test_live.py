"""The live /dev/kmsg source: against the real kernel (root), and a fake for EPIPE and idling."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import orjson
import pytest

from kernel_oom import trigger_oom
from oom_input.assembler import Assembler
from oom_input.live import KmsgFollower, LiveOptions, LiveSourceError
from oom_input.pipeline import Pipeline
from oom_input.statefile import Position, StateFile, StateFileError
from oom_input.types import OomRecord
from schema_util import validate_record

REAL = Path(__file__).parent / "data" / "real"


class OomInput:
    """``oom-input --kmsg ...`` as a subprocess; a thread reads its stdout as it comes, noting
    when each record arrived."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oom_input", "--kmsg", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.arrivals: list[tuple[float, dict]] = []
        self._queue: queue.Queue[dict | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            now = time.time()
            record = orjson.loads(line)
            self.arrivals.append((now, record))
            self._queue.put(record)
        self._queue.put(None)

    def wait_started(self) -> None:
        # the process is ready once it sits in poll(); give it the time to import and seek
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            stat = Path(f"/proc/{self.proc.pid}/wchan").read_text()
            if "poll" in stat or "select" in stat:
                return
            time.sleep(0.02)
        raise AssertionError("oom-input --kmsg did not reach its poll loop")

    def records(
        self, n: int | None = None, timeout: float = 10.0, pid: int | None = None
    ) -> list[dict]:
        """Records until ``n`` arrived (or the one for ``pid``), or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        got: list[dict] = []
        while (n is None or len(got) < n) and not (
            pid is not None and pid in [r["pid"] for r in got]
        ):
            try:
                record = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if record is None:
                break
            validate_record(record)
            got.append(record)
        return got

    def stop(self) -> tuple[int, bytes]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        self._reader.join(timeout=10)
        assert self.proc.stderr is not None
        return self.proc.returncode, self.proc.stderr.read()


def kube_path() -> tuple[str, str, str]:
    uid = str(uuid.uuid4())
    cid = uuid.uuid4().hex + uuid.uuid4().hex
    pod = f"kubepods-burstable-pod{uid.replace('-', '_')}.slice"
    return f"{pod}/cri-containerd-{cid}.scope", uid, cid


@pytest.mark.real_kernel
def test_live_record_arrives_fast_with_cgroups(tmp_path: Path) -> None:
    """A real kill is written as a record within a generous bound of its kill line."""
    oom = OomInput("--state-file", str(tmp_path / "state"))
    try:
        oom.wait_started()
        path, uid, cid = kube_path()
        capture = trigger_oom(path, comm="live (a), b")
        (record,) = [r for r in oom.records(pid=capture.pid) if r["pid"] == capture.pid]
        assert record["process_name"] == "live (a), b"
        assert record["container_name"] == record["victim_container_name"] == capture.cgroup_path
        assert (record["pod_uid"], record["container_id"]) == (uid, cid)
        assert record["complete"] is True
        assert (
            record["host"]
            and record["boot_id"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        )
        arrival = next(t for t, r in oom.arrivals if r["pid"] == capture.pid)
        kill_time = _epoch(record["time_of_death"])
        assert -0.05 < arrival - kill_time < 2.0
    finally:
        code, err = oom.stop()
    assert code == 0, err


@pytest.mark.real_kernel
def test_clean_restart_emits_each_kill_once(tmp_path: Path) -> None:
    """Kill A while running; B and C while stopped (SIGTERM); the restart emits exactly B and
    C (other processes the host OOM-kills meanwhile are not counted: only our own pids)."""
    state = str(tmp_path / "state")
    first = OomInput("--state-file", state)
    try:
        first.wait_started()
        a = trigger_oom("exactly-once-a", comm="kill-a")
        assert [r["pid"] for r in first.records(pid=a.pid) if r["pid"] == a.pid] == [a.pid]
    finally:
        code, _ = first.stop()
    assert code == 0
    assert os.stat(state).st_mode & 0o777 == 0o600
    b = trigger_oom("exactly-once-b", comm="kill-b")
    c = trigger_oom("exactly-once-c", comm="kill-c")
    second = OomInput("--state-file", state)
    try:
        got = second.records(pid=c.pid, timeout=10)
        got += second.records(timeout=1.0)  # anything more would be a repeat
    finally:
        second.stop()
    ours = {a.pid, b.pid, c.pid}
    assert [r["pid"] for r in got if r["pid"] in ours] == [b.pid, c.pid]


@pytest.mark.real_kernel
def test_start_end_replays_nothing_and_begin_replays_the_buffer() -> None:
    """Without a state file, --start end emits no old kill; --start begin replays them."""
    old = trigger_oom("replay", comm="old-kill")
    fresh = OomInput()
    try:
        fresh.wait_started()
        # other processes on the host may be OOM-killed meanwhile: only our own kill counts
        assert old.pid not in [r["pid"] for r in fresh.records(timeout=1.0)]
    finally:
        fresh.stop()
    replay = OomInput("--start", "begin")
    try:
        got = replay.records(pid=old.pid, timeout=10)
    finally:
        replay.stop()
    assert old.pid in [r["pid"] for r in got]


@pytest.mark.real_kernel
def test_idle_process_uses_almost_no_cpu() -> None:
    """An idle --kmsg process sleeps in poll(): CPU time over 5 s stays near zero."""
    oom = OomInput()
    try:
        oom.wait_started()
        before = _cpu_seconds(oom.proc.pid)
        time.sleep(5)
        used = _cpu_seconds(oom.proc.pid) - before
    finally:
        oom.stop()
    assert used < 0.05


@pytest.mark.real_kernel
def test_sigterm_exits_0_and_permission_denied_exits_1() -> None:
    """SIGTERM stops cleanly; an unprivileged reader gets exit 1 naming what it needs."""
    oom = OomInput()
    oom.wait_started()
    code, err = oom.stop()
    assert (code, err) == (0, b"")
    if Path("/proc/sys/kernel/dmesg_restrict").read_text().strip() != "1":
        pytest.skip("kernel.dmesg_restrict=0: any user may read /dev/kmsg here")
    # the reader itself, as nobody (a fork: the interpreter may live in root's home)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            follower = KmsgFollower(LiveOptions(), print)
            try:
                follower.open()
                os.write(w, b"opened")
            except LiveSourceError as exc:
                os.write(w, str(exc).encode())
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(child, 0)
    with os.fdopen(r, "rb") as f:
        message = f.read()
    assert b"permission denied" in message and b"CAP_SYSLOG" in message
    # and the CLI turns a reader that cannot open its device into exit 1 with the message
    proc = subprocess.run(
        [sys.executable, "-m", "oom_input", "--kmsg", "/nonexistent/kmsg"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1
    assert b"/nonexistent/kmsg" in proc.stderr and b"Traceback" not in proc.stderr


# --- the follower against a fake kmsg --------------------------------------------------------


class ListSink:
    """Keeps the records written (the sink of a pipeline under test)."""

    def __init__(self, records: list[OomRecord]) -> None:
        self.records = records

    def write(self, record: OomRecord) -> None:
        self.records.append(record)

    def close(self) -> None:
        pass


class FakeKmsg(KmsgFollower):
    """Reads scripted records (not /dev/kmsg: ``open`` is not called); an exception in the
    script is raised by read(). ``go()`` runs it through a real pipeline."""

    def __init__(self, script: list, tmp_path: Path, **options: object) -> None:
        self.emitted: list[OomRecord] = []
        self.warnings: list[str] = []
        super().__init__(
            LiveOptions(path=os.devnull, host="fake", **options),  # type: ignore[arg-type]
            self.warnings.append,
        )
        self.boot_id = "00000000-0000-0000-0000-000000000001"
        self._script = list(script)
        # poll on a pipe that never becomes readable: the idle timeout is what wakes us
        self.fd, self._never_w = os.pipe()

    def go(self) -> None:
        self.run(Pipeline(decoder=self.decoder, sink=ListSink(self.emitted), assembler=Assembler()))

    def _read(self) -> bytes:
        if not self._script:
            self.stop()
            raise BlockingIOError
        item = self._script.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item


def kmsg_records(name: str) -> list[bytes]:
    return [line + b"\n" for line in (REAL / name).read_bytes().splitlines()]


def test_epipe_is_counted_and_marks_the_open_report_incomplete(tmp_path: Path) -> None:
    """EPIPE mid-report: the loss is reported from the sequence gap, the record incomplete."""
    records = kmsg_records("simple-memcg.kmsg")
    script = [*records[:10], BrokenPipeError(), *records[15:]]
    fake = FakeKmsg(script, tmp_path)
    fake.go()
    assert [(r.pid, r.complete) for r in fake.emitted] == [(3171, False)]
    assert fake.missed == 5 and any("missed 5 kernel messages" in w for w in fake.warnings)


def test_idle_timeout_closes_a_report_that_stopped(tmp_path: Path) -> None:
    """A report whose kill line never comes is emitted after the idle timeout."""
    records = kmsg_records("simple-memcg.kmsg")[:-1]
    # the BlockingIOError makes it poll(); the poll times out and the report is closed
    fake = FakeKmsg([*records, BlockingIOError()], tmp_path, idle_timeout=0.05)
    started = time.monotonic()
    fake.go()
    assert [(r.pid, r.complete) for r in fake.emitted] == [(3171, False)]
    assert time.monotonic() - started < 2


def test_state_file_resumes_at_open_report_start(tmp_path: Path) -> None:
    """Stopped mid-report: the state points at the report's first record."""
    records = kmsg_records("simple-memcg.kmsg")
    state = str(tmp_path / "state")
    fake = FakeKmsg(records[:20], tmp_path, state_file=state)
    fake.go()
    assert fake.emitted == []
    assert StateFile(state, print).load() == Position(fake.boot_id, 894)


def test_damaged_state_file_warns_once_and_starts_afresh(tmp_path: Path) -> None:
    """A state document of ours cut short: one warning, no position, no crash; 0600 when
    written again."""
    state = tmp_path / "state"
    state.write_bytes(b'{"version":1,"boot_id":"b","next_')
    warnings: list[str] = []
    assert StateFile(str(state), warnings.append).open() is None
    assert len(warnings) == 1 and "damaged" in warnings[0]
    StateFile(str(state), warnings.append).save(Position("b", 7))
    assert state.stat().st_mode & 0o777 == 0o600
    assert StateFile(str(state), warnings.append).open() == Position("b", 7)


def test_state_file_symlink_is_refused_and_left_alone(tmp_path: Path) -> None:
    """A symlink at the state path is an error at start; neither it nor its target changes."""
    target = tmp_path / "target"
    target.write_text("keep")
    link = tmp_path / "state"
    link.symlink_to(target)
    with pytest.raises(StateFileError, match="symbolic link"):
        StateFile(str(link), print).open()
    StateFile(str(link), print).save(Position("b", 1))  # refused too (a warning)
    assert target.read_text() == "keep" and link.is_symlink()


def _epoch(rfc3339: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- --journal against a stand-in journalctl -------------------------------------------------

JOURNAL_JSON = Path(__file__).parent / "data" / "structured" / "simple-memcg.journal-json"


def fake_journalctl(bin_dir: Path, argv_log: Path, lines: list[bytes]) -> None:
    """An executable ``journalctl`` on PATH that logs its argv, prints ``lines`` (the journal's
    JSON entries) and then follows forever, as ``journalctl -f`` does."""
    script = bin_dir / "journalctl"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, time\n"
        f"open({str(argv_log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        f"sys.stdout.buffer.write({b''.join(lines)!r})\n"
        "sys.stdout.flush()\n"
        "time.sleep(3600)\n"
    )
    script.chmod(0o755)


def journal_run(bin_dir: Path, state: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "oom_input", "--journal", "--state-file", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"},
    )


def test_journal_follows_journalctl_and_resumes_after_its_cursor(tmp_path: Path) -> None:
    """--journal runs journalctl -k -f -o json (no shell), writes the record, saves the cursor,
    and a restart resumes with --after-cursor so nothing is written twice."""
    lines = [line + b"\n" for line in JOURNAL_JSON.read_bytes().splitlines()]
    argv_log = tmp_path / "argv"
    state = tmp_path / "state"
    fake_journalctl(tmp_path, argv_log, lines)
    first = journal_run(tmp_path, state)
    assert first.stdout is not None
    record = orjson.loads(first.stdout.readline())
    validate_record(record)
    assert (record["pid"], record["host"], record["source_format"]) == (
        3171,
        "node-a",
        "journal-json",
    )
    assert record["boot_id"] == "aae7e8d9-ea8a-4d39-9e7a-7bbce85930c1"
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=10) == 0
    cursor = orjson.loads(lines[-1])["__CURSOR"]
    assert orjson.loads(state.read_bytes())["cursor"] == cursor

    fake_journalctl(tmp_path, argv_log, [])  # a resumed journalctl prints only what is new
    second = journal_run(tmp_path, state)
    time.sleep(1.0)
    second.send_signal(signal.SIGTERM)
    out, _ = second.communicate(timeout=10)
    assert out == b""
    first_argv, second_argv = argv_log.read_text().splitlines()
    assert first_argv == "-k -f -o json --lines=0"
    assert second_argv == f"-k -f -o json --after-cursor={cursor}"


def test_sigterm_mid_report_leaves_a_consistent_state(tmp_path: Path) -> None:
    """A real SIGTERM while a report is half read: clean stop, and the state file points at the
    report's first record, so a restart reads it again from the start (no kill lost)."""
    records = kmsg_records("simple-memcg.kmsg")

    class Interrupted(Exception):
        pass

    def sigterm_then_wait() -> bytes:
        os.kill(os.getpid(), signal.SIGTERM)  # the handler only sets a flag and wakes poll()
        raise BlockingIOError

    state = str(tmp_path / "state")
    fake = FakeKmsg(records[:30], tmp_path, state_file=state)
    fake._script.append(Interrupted())  # never reached: the SIGTERM stops the loop first
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    fake.install_signal_handlers()
    try:
        original_read = fake._read

        def read() -> bytes:
            if len(fake._script) == 1:
                fake._script.clear()
                return sigterm_then_wait()
            return original_read()

        fake._read = read  # type: ignore[method-assign]
        fake.go()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    assert fake.emitted == []
    assert StateFile(state, print).load() == Position(fake.boot_id, 894)
    assert os.stat(state).st_mode & 0o777 == 0o600


@pytest.mark.real_kernel
def test_state_of_another_boot_starts_at_the_beginning_of_this_one(tmp_path: Path) -> None:
    """A state file written in another boot (different boot id): this boot's whole buffer is
    new, so a kill from before the start is read."""
    old = trigger_oom("other-boot", comm="before-start")
    state = tmp_path / "state"
    state.write_bytes(
        orjson.dumps(
            {"version": 1, "boot_id": str(uuid.uuid4()), "next_seq": 10**9, "cursor": None}
        )
    )
    oom = OomInput("--state-file", str(state))
    try:
        got = oom.records(pid=old.pid, timeout=10)
    finally:
        oom.stop()
    assert old.pid in [r["pid"] for r in got]


# --- lost messages, forged records, restarts --------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lost_messages_are_reported_once_per_interval_with_the_sum() -> None:
    """The first loss at once; later ones within the interval summed into one line, printed
    when the interval is over (or at the stop)."""
    from oom_input.live import LostMessages

    lines: list[str] = []
    clock = Clock()
    lost = LostMessages(lines.append, interval=5.0, clock=clock)
    lost.add(5)
    assert lines == [
        "missed 5 kernel messages (overwritten in the ring buffer before they were read)"
    ]
    for _ in range(1000):
        lost.add(3)
        clock.now += 0.001
    assert len(lines) == 1 and lost.due_in() is not None and lost.due_in() > 0
    clock.now += 5
    assert lost.due_in() == 0
    lost.add(1)
    assert len(lines) == 2 and lines[1].startswith("missed 3001 kernel messages")
    lost.add(2)
    lost.report()  # at the stop
    assert lines[2].startswith("missed 2 kernel messages") and lost.total == 3008


def test_a_flood_of_overruns_gives_few_lines_with_the_whole_count(tmp_path: Path) -> None:
    """EPIPE after every record (a flood): a handful of lines, their counts summing to the
    sequence gaps, instead of one line per read."""
    records = kmsg_records("simple-memcg.kmsg")
    script: list = []
    for record in records[::2]:  # every other record lost
        script += [record, BrokenPipeError()]
    fake = FakeKmsg(script, tmp_path)
    fake.go()
    fake.report_counts()
    missed = [w for w in fake.warnings if w.startswith("missed ")]
    seqs = [int(r.split(b",")[1]) for r in records[::2]]
    expected = seqs[-1] - seqs[0] + 1 - len(seqs)  # the numbers between those read
    assert 1 <= len(missed) <= 3, missed
    assert sum(int(w.split()[1]) for w in missed) == fake.missed == expected > 10
    assert any(w == f"{fake.missed} kernel messages missed in all" for w in fake.warnings)


def test_overrun_before_the_first_record_of_a_fresh_start_is_reported(tmp_path: Path) -> None:
    """EPIPE before anything was read (position unknown): still said, count unknown."""
    records = kmsg_records("simple-memcg.kmsg")
    fake = FakeKmsg([BrokenPipeError(), *records], tmp_path)
    fake.go()
    assert any("how many is unknown" in w for w in fake.warnings)
    assert [r.pid for r in fake.emitted] == [3171]


def forged(records: list[bytes]) -> list[bytes]:
    """The same records as a process would write them into /dev/kmsg (facility LOG_USER)."""
    out = []
    for record in records:
        pri, rest = record.split(b",", 1)
        out.append(b"%d," % (8 + int(pri) % 8) + rest)
    return out


def test_records_written_by_processes_never_make_a_record(tmp_path: Path) -> None:
    """A whole OOM report written into /dev/kmsg by a process (non-kernel facility): no record,
    a notice, and the count at the stop; the real report after it still gives its record."""
    records = kmsg_records("simple-memcg.kmsg")
    fake = FakeKmsg([*forged(records), *records], tmp_path)
    fake.go()
    fake.report_counts()
    assert [r.seq_first for r in fake.emitted] == [894]  # the kernel's own report only
    assert any("written into /dev/kmsg by processes" in w for w in fake.warnings)
    # counted as the reader decodes them: the forged lines that could belong to a report
    (total,) = [w for w in fake.warnings if w.endswith("by processes ignored")]
    assert 3 <= int(total.split()[0]) <= len(records)


def test_restart_reads_a_report_again_with_the_same_id_and_time(tmp_path: Path) -> None:
    """Killed after writing a record but before saving (the duplicate window): the restart
    writes it again - identical, id and time_of_death included, although the boot-time
    estimate a new process computes differs."""
    records = kmsg_records("simple-memcg.kmsg")
    state = str(tmp_path / "state")
    first = FakeKmsg(records[:20], tmp_path, state_file=state)  # stopped mid-report
    first.go()
    saved = orjson.loads(Path(state).read_bytes())
    assert saved["next_seq"] == 894 and saved["boot_time_us"] == first.boot_us
    lives = []
    for shift in (7, 13):  # two restarts from the same state: the save never happened
        life = FakeKmsg(records[20:], tmp_path, state_file=state)
        life.boot_us += shift  # what a fresh estimate in a new process gives (µs of jitter)
        assert life._state is not None
        assert life.resume_boot_time(life._state.open())
        saved_bytes = Path(state).read_bytes()
        life.go()
        lives.append(life.emitted)
        Path(state).write_bytes(saved_bytes)  # as if killed before the rename
    (a,), (b,) = lives
    assert a.as_dict() == b.as_dict()
    assert a.time_of_death is not None and a.id == b.id


def test_boot_time_option_is_used_live(tmp_path: Path) -> None:
    """--boot-time given with --kmsg is used (not the estimate) for time_of_death."""
    records = kmsg_records("simple-memcg.kmsg")
    fake = FakeKmsg(records, tmp_path, boot_time_us=1764180000250000)
    fake.go()
    (record,) = fake.emitted
    assert record.time_of_death == "2025-11-26T18:19:55.090991Z"


@pytest.mark.real_kernel
def test_forged_report_written_into_dev_kmsg_gives_no_record(tmp_path: Path) -> None:
    """A root process writes a whole OOM report into the real /dev/kmsg while --kmsg runs:
    no record for it (the kernel marked every line LOG_USER); a real kill still gives one."""
    oom = OomInput()
    try:
        oom.wait_started()
        fake_pid = 4_000_000 + os.getpid() % 100_000  # above any pid_max in use
        text = [r.split(b";", 1)[1] for r in kmsg_records("simple-memcg.kmsg")]
        fd = os.open("/dev/kmsg", os.O_WRONLY)
        try:
            for line in text:
                os.write(fd, line.rstrip(b"\n").replace(b"3171", str(fake_pid).encode()))
        finally:
            os.close(fd)
        real = trigger_oom("forgery-then-real", comm="real-after")
        got = oom.records(pid=real.pid, timeout=10)
    finally:
        code, err = oom.stop()
    assert code == 0, err
    pids = [r["pid"] for r in got]
    assert real.pid in pids and fake_pid not in pids
    assert b"written into /dev/kmsg by processes" in err


@pytest.mark.real_kernel
def test_fresh_start_at_the_end_knows_the_next_sequence_number() -> None:
    """--start end reads the buffer through at start, so that a loss right after the start
    is counted (EPIPE with a known position)."""
    follower = KmsgFollower(LiveOptions(), print)
    try:
        follower.open()
        assert follower._next_seq is not None and follower._next_seq > 0
        probe = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        try:
            os.lseek(probe, 0, os.SEEK_SET)
            last = None
            while True:
                try:
                    last = os.read(probe, 8192)
                except BlockingIOError:
                    break
                except BrokenPipeError:
                    continue
        finally:
            os.close(probe)
        assert last is not None
        assert follower._next_seq <= int(last.split(b",")[1]) + 1
    finally:
        follower.close()


def test_journal_entries_written_into_dev_kmsg_by_processes_are_ignored() -> None:
    """journald keeps a /dev/kmsg record's facility: a kernel-transport entry with
    SYSLOG_FACILITY other than 0 was written by a process and is not a kernel line."""
    from oom_input.decoders import make_decoder
    from oom_input.types import IGNORED, DecodeOptions, KernelLine

    decoder = make_decoder("journal-json", DecodeOptions())
    entry = {"MESSAGE": "Memory cgroup out of memory: Killed process 1 (x)", "_TRANSPORT": "kernel"}
    assert isinstance(decoder.decode(orjson.dumps({**entry, "SYSLOG_FACILITY": "0"})), KernelLine)
    assert isinstance(decoder.decode(orjson.dumps(entry)), KernelLine)
    assert decoder.decode(orjson.dumps({**entry, "SYSLOG_FACILITY": "1"})) is IGNORED
    assert decoder.decode(orjson.dumps({**entry, "_TRANSPORT": "syslog"})) is IGNORED


def test_kmsg_decoder_ignores_and_counts_records_of_other_facilities() -> None:
    """PRI 12 (user.warning, what a write to /dev/kmsg gets) is IGNORED and counted; PRI 3
    and 6 (kern) are read."""
    from oom_input.decoders.kmsg import KmsgDecoder
    from oom_input.types import IGNORED, DecodeOptions, KernelLine

    decoder = KmsgDecoder(DecodeOptions())
    text = b";Memory cgroup out of memory: Killed process 1 (x)"
    assert isinstance(decoder.decode(b"3,1,10,-" + text), KernelLine)
    assert decoder.decode(b"12,2,11,-" + text) is IGNORED
    assert decoder.decode(b"30,3,12,-" + text) is IGNORED
    assert decoder.userspace_records == 2


def test_a_pending_loss_report_does_not_close_an_open_report_early(tmp_path: Path) -> None:
    """The wake-up that prints a pending loss line is not the idle timeout: the open report
    stays open (stopped with a state file, it is left to be read again, not written)."""
    records = kmsg_records("simple-memcg.kmsg")
    script = [*records[:10], BrokenPipeError(), *records[12:20], BrokenPipeError()]
    script += [*records[22:30], BlockingIOError()]  # one wait: the loss line is due first
    fake = FakeKmsg(script, tmp_path, idle_timeout=5.0, state_file=str(tmp_path / "state"))
    fake.lost.interval = 0.01  # the second loss is due 10 ms later, long before 5 s of idling
    fake.go()
    assert fake.emitted == []
    assert [w.split()[1] for w in fake.warnings if w.startswith("missed ")] == ["2", "2"]
