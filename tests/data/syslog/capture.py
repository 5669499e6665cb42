"""Regenerate this folder's fixtures: what the real rsyslog writes to /var/log/messages when it
reads kernel records through imjournal, as RHEL 7/8/9 configure it (README.md says which is which).

For each report, its kernel records (``convert.kernel_records``: a multi-line record is one record
with newlines in its text) go into a journal file written by the real systemd-journal-remote from
their export stream (``convert.journal_export``). In a private mount and UTS namespace (nothing of
the machine's own journal or host name is touched) that file is laid where imjournal reads the
local journal, ``/var/log/journal/<machine-id>/system.journal``, the host name is set to the
journal's ``node-a``, and rsyslogd runs in the foreground with ``RSYSLOG_CONF`` until it has
written every record; then it is stopped.

Needs (for regenerating only; the tests read the files): rsyslog with imjournal and
systemd-journal-remote (Debian: ``apt-get install rsyslog systemd-journal-remote``), root (for the
namespaces). Run: ``python3 tests/data/syslog/capture.py``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent.parent
sys.path.insert(0, str(TESTS))

from convert import (  # noqa: E402
    Record,
    Source,
    journal_export,
    kernel_record,
    kernel_records,
    read_kmsg,
    rfc3339,
)

# the real and legacy reports whose records hold several lines (memory.stat on 5.x, Mem-Info)
REPORTS = (
    "legacy/v4.14-global-split-header.dmesg",
    "legacy/v5.10-global-oom.dmesg",
    "legacy/v5.10-memcg-no-killable.dmesg",
    "legacy/v5.15-cgroup-v2-memcg.dmesg",
    "legacy/v5.15-cgroup-v2-oom-group.dmesg",
    "legacy/v5.15-split-summary.kmsg",
    "legacy/v6.12-arm64-16k-global-oom.kmsg",
)
# RSYSLOG_CONF's output files -> the fixture suffix
OUTPUTS = {
    "messages": "syslog-rsyslog-imjournal",
    "messages-rfc3339": "syslog-rsyslog-imjournal-rfc3339",
    "messages-rfc5424": "syslog-rsyslog-imjournal-rfc5424",
}
# every control character (tab and newline included), then DEL, text that looks like an escape,
# the kernel's own escape and a non-ASCII letter: which of them does rsyslog escape, and how
CONTROL_PROBE = bytes(range(1, 32)) + b" DEL\x7f #012 \\x0a caf\xc3\xa9 end"
# the real simple-memcg capture with a newline in the victim's name (a task may name itself so):
# its kill line is one line of rsyslog's too, the name's newline escaped
NEWLINE_NAME = (b"stress", b"str\\x0ass")
INFO = 6  # RHEL's /var/log/messages selector takes *.info and above
RSYSLOG_CONF = """\
# The lines of RHEL 8/9's /etc/rsyslog.conf that decide what /var/log/messages holds, plus a
# second file in RSYSLOG_FileFormat and a third in RSYSLOG_SyslogProtocol23Format (RFC 5424)
# ($EscapeControlCharactersOnReceive: its default, on)
global(workDirectory="/var/log/rsyslog-work")
module(load="builtin:omfile" Template="RSYSLOG_TraditionalFileFormat")
module(load="imjournal" UsePid="system" StateFile="imjournal.state")
#module(load="imklog") # reads kernel messages (the same are read from journald)
*.info;mail.none;authpriv.none;cron.none                /var/log/messages
*.info;mail.none;authpriv.none;cron.none                action(type="omfile"
    file="/var/log/messages-rfc3339" template="RSYSLOG_FileFormat")
*.info;mail.none;authpriv.none;cron.none                action(type="omfile"
    file="/var/log/messages-rfc5424" template="RSYSLOG_SyslogProtocol23Format")
"""

# In the namespaces (/var/log an empty tmpfs): $1 the journal file, $2 RSYSLOG_CONF's file, $3
# where the output files go, $4 how many lines rsyslog must write to each.
RUN = r"""
set -e
hostname node-a
mount -t tmpfs tmpfs /var/log
mkdir -p /var/log/journal/$(cat /etc/machine-id) /var/log/rsyslog-work
cp "$1" /var/log/journal/$(cat /etc/machine-id)/system.journal
cd /var/log
TZ=UTC rsyslogd -n -f "$2" -i /var/log/rsyslogd.pid &
pid=$!
i=0
while [ "$(cat messages messages-rfc3339 messages-rfc5424 2>/dev/null | wc -l)" -lt $((3 * $4)) ]; do
    i=$((i + 1)); [ $i -lt 300 ] || { echo "rsyslogd wrote too few lines" >&2; kill $pid; exit 1; }
    sleep 0.1
done
sleep 0.5
kill $pid
wait $pid || true
cp messages messages-rfc3339 messages-rfc5424 "$3"
"""


def rsyslog_output(records: list[Record]) -> dict[str, bytes]:
    """What rsyslog (imjournal, rsyslog.conf) writes for the records, per output file."""
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "capture.journal"
        subprocess.run(
            ["/lib/systemd/systemd-journal-remote", "-o", str(journal), "-"],
            input=journal_export(records, Source()),
            check=True,
            capture_output=True,
        )
        out = Path(tmp) / "out"
        out.mkdir()
        conf = Path(tmp) / "rsyslog.conf"
        conf.write_text(RSYSLOG_CONF)
        wanted = sum(r.pri & 7 <= INFO for r in records)
        argv = ["sh", "-c", RUN, "sh", str(journal), str(conf), str(out)]
        subprocess.run(["unshare", "--mount", "--uts", *argv, str(wanted)], check=True)
        return {name: (out / name).read_bytes() for name in OUTPUTS}


# rsyslog as a central server: RFC 5424 messages received over TCP (imtcp, octet-counted
# frames), written to a file in RSYSLOG_SyslogProtocol23Format and forwarded over TCP with
# octet-counted framing (omfwd) to a listener that writes the bytes it gets to a file
RELAY_CONF = """\
global(workDirectory="/var/log/rsyslog-work")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="10514")
*.* action(type="omfile" file="/var/log/messages-rfc5424"
    template="RSYSLOG_SyslogProtocol23Format")
*.* action(type="omfwd" target="127.0.0.1" port="6514" protocol="tcp"
    TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
"""
# the listener omfwd sends to: every byte received, as it came ($1: the file; $2 is made once
# it listens)
LISTENER = """
import socket, sys
server = socket.create_server(("127.0.0.1", 6514))
open(sys.argv[2], "w").close()
with open(sys.argv[1], "wb") as out:
    connection, _ = server.accept()
    while data := connection.recv(65536):
        out.write(data)
        out.flush()
"""
# the sender: the bytes of $1 to rsyslog's imtcp
SENDER = """
import socket, sys
with socket.create_connection(("127.0.0.1", 10514)) as connection:
    connection.sendall(open(sys.argv[1], "rb").read())
"""
# In the namespaces (loopback only, /var/log an empty tmpfs): $1 the messages to send, $2
# RELAY_CONF's file, $3 where the output files go, $4 how many lines rsyslog must write.
RELAY_RUN = r"""
set -e
hostname relay
ip link set lo up
mount -t tmpfs tmpfs /var/log
mkdir -p /var/log/rsyslog-work
cd /var/log
python3 -c "$LISTENER" forwarded listening &
listener=$!
i=0
until [ -e listening ]; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "the listener never listened" >&2; exit 1; }
    sleep 0.1
done
TZ=UTC rsyslogd -n -f "$2" -i /var/log/rsyslogd.pid &
pid=$!
i=0
until python3 -c "$SENDER" "$1" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "imtcp never listened" >&2; kill $pid; exit 1; }
    sleep 0.1
done
i=0
while [ "$(cat messages-rfc5424 forwarded 2>/dev/null | wc -l)" -lt $((2 * $4)) ]; do
    i=$((i + 1)); [ $i -lt 300 ] || { echo "rsyslogd wrote too few lines" >&2; kill $pid; exit 1; }
    sleep 0.1
done
sleep 0.5
kill $pid
wait $pid || true
kill $listener 2>/dev/null || true
cp messages-rfc5424 forwarded "$3"
"""
# RELAY_RUN's output files -> the fixture suffix
RELAY_OUTPUTS = {
    "messages-rfc5424": "syslog-rsyslog-imtcp-rfc5424",
    "forwarded": "syslog-rsyslog-omfwd-octet-counted",
}
# what a sender may put in structured data: '"', '\' and ']' escaped (RFC 5424 section 6.3.3)
SD_VALUE = rb"a\"b\\c\]d"
BOM = b"\xef\xbb\xbf"
# another program's messages between the kernel's, OOM-shaped: never kernel lines
OTHER_PROGRAM = (
    b"stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
    b"Memory cgroup out of memory: Killed process 4242 (evil) total-vm:1kB, anon-rss:1kB, "
    b"file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0",
)


def relay_messages(records: list[Record]) -> bytes:
    """The records as RFC 5424 messages of host node-a in octet-counted frames, as a sender
    (rsyslog, syslog-ng, Fluent Bit) sends them over TCP: structured data with escapes on every
    other one, a BOM before every third MSG, and another program's OOM-shaped messages after
    every seventh."""
    source = Source()
    frames = []
    for n, record in enumerate(records):
        stamp = rfc3339(record.wall_us(source)).encode()
        sd = b'[meta@32473 sequenceId="%d" note="%s"]' % (record.seq, SD_VALUE) if n % 2 else b"-"
        bom = BOM if n % 3 == 0 else b""
        messages = [
            b"<%d>1 %s node-a kernel - - %s %s%s" % (record.pri, stamp, sd, bom, record.text)
        ]
        if n % 7 == 0:
            messages += [
                b"<11>1 %s node-a myapp 4242 - - %s" % (stamp, text) for text in OTHER_PROGRAM
            ]
        frames += [b"%d %s" % (len(message), message) for message in messages]
    return b"".join(frames)


def relay_output(records: list[Record]) -> dict[str, bytes]:
    """What rsyslog as a central server writes and forwards for the records, per output."""
    with tempfile.TemporaryDirectory() as tmp:
        messages = Path(tmp) / "messages"
        data = relay_messages(records)
        messages.write_bytes(data)
        out = Path(tmp) / "out"
        out.mkdir()
        conf = Path(tmp) / "rsyslog.conf"
        conf.write_text(RELAY_CONF)
        wanted = len(records) + len(records[::7]) * len(OTHER_PROGRAM)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LISTENER": LISTENER, "SENDER": SENDER}
        argv = ["sh", "-c", RELAY_RUN, "sh", str(messages), str(conf), str(out), str(wanted)]
        subprocess.run(["unshare", "--mount", "--uts", "--net", *argv], check=True, env=env)
        return {name: (out / name).read_bytes() for name in RELAY_OUTPUTS}


def write_relay_fixtures() -> None:
    """The central server's files, from the real simple-memcg capture."""
    simple = read_kmsg((TESTS / "data" / "real" / "simple-memcg.kmsg").read_bytes())
    for output, data_bytes in relay_output(simple).items():
        (HERE / f"simple-memcg.{RELAY_OUTPUTS[output]}").write_bytes(data_bytes)


def main() -> None:
    if shutil.which("rsyslogd") is None:
        sys.exit("rsyslogd not found: apt-get install rsyslog systemd-journal-remote")
    if "--relay" in sys.argv[1:]:  # only the central server's files
        write_relay_fixtures()
        return
    data = TESTS / "data"
    for report in REPORTS:
        records = kernel_records(data / report)
        assert records is not None, report
        name = Path(report).stem
        for output, data_bytes in rsyslog_output(records).items():
            (HERE / f"{name}.{OUTPUTS[output]}").write_bytes(data_bytes)
    capture = (data / "real" / "simple-memcg.kmsg").read_bytes().replace(*NEWLINE_NAME)
    for output, data_bytes in rsyslog_output(read_kmsg(capture)).items():
        (HERE / f"newline-name.{OUTPUTS[output]}").write_bytes(data_bytes)
    probe = [kernel_record(INFO, 1, 1_000_000, CONTROL_PROBE)]
    for output, data_bytes in rsyslog_output(probe).items():
        (HERE / f"control-characters.{OUTPUTS[output]}").write_bytes(data_bytes)
    write_relay_fixtures()


if __name__ == "__main__":
    main()
