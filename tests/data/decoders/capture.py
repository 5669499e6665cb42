"""Regenerate the text-format fixtures of this folder from real /dev/kmsg captures.

The dmesg and journalctl fixtures are printed by the real tools (util-linux dmesg reading a
syslog-buffer file with ``-F``; journalctl reading a journal file that systemd-journal-remote
wrote from an export stream); the syslog files are rendered here in rsyslog's two usual
shapes. See README.md for what each file holds.

Needs: util-linux ``dmesg``, ``journalctl``, ``/lib/systemd/systemd-journal-remote``
(Debian: ``apt-get install systemd-journal-remote``). Run: ``python3 capture.py``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = Path("/work/shared/samples")
HOST = "node-a"
# boot A ends with a kill line on its own; boot B holds the full report
BOOT_A = ("1a2b3c4d5e6f708192a3b4c5d6e7f809", 1764100000)  # boot id, boot time (epoch s)
BOOT_B = ("aae7e8d9ea8a4d399e7a7bbce85930c1", 1764180000)
SYSTEMD_LINE = "demo.service: A process of this unit has been killed by the OOM killer."


def kmsg_records(path: Path) -> list[tuple[int, int, str]]:
    """(priority, µs since boot, text) of each record of a kmsg capture without escapes."""
    records = []
    for line in path.read_text().splitlines():
        prefix, text = line.split(";", 1)
        pri, _seq, usec = prefix.split(",")[:3]
        records.append((int(pri), int(usec), text))
    return records


# dmesg -T in the languages of other locales (LC_TIME), by fixture suffix; C for comparison
LOCALES = {"c": "C", "de": "de_DE", "es": "es_ES", "fr": "fr_FR", "ja": "ja_JP", "ru": "ru_RU"}


def run(argv: list[str], tz: str = "UTC", **env: str) -> bytes:
    environment = {**os.environ, "TZ": tz, **env}
    environment.pop("LC_ALL", None)  # (it would override LC_TIME)
    return subprocess.run(argv, check=True, capture_output=True, env=environment).stdout


def dmesg_fixtures(records: list[tuple[int, int, str]], tmp: Path) -> None:
    buffer = tmp / "syslog-buffer"  # the SYSLOG_ACTION_READ_ALL shape that `dmesg -F` reads
    buffer.write_text(
        "".join(f"<{p}>[{us // 10**6:5d}.{us % 10**6:06d}] {t}\n" for p, us, t in records)
    )
    variants = {
        "dmesg": [],
        "dmesg-r": ["-r"],
        "dmesg-x": ["-x"],
        "dmesg-iso": ["--time-format", "iso"],
        "dmesg-ctime": ["-T"],
        "dmesg-reltime": ["--time-format", "reltime"],
        "dmesg-delta": ["--time-format", "delta"],
        "dmesg-show-delta": ["-d"],
        "plain-dmesg-t": ["-t"],  # no stamp: plain text
        "dmesg-color": ["--color=always"],  # ECMA-48 colours, as on a terminal
        "dmesg-x-color": ["-x", "--color=always"],
    }
    for name, options in variants.items():
        (HERE / f"simple-memcg.{name}").write_bytes(run(["dmesg", "-F", str(buffer), *options]))
    locale_fixtures(buffer, tmp)


def locale_fixtures(buffer: Path, tmp: Path) -> None:
    """dmesg -T with LC_TIME set to each of LOCALES (built into ``tmp`` by localedef, which
    Debian's ``locales`` package has)."""
    for suffix, name in LOCALES.items():
        env = {"LC_TIME": "C"}
        if name != "C":
            locale = f"{name}.UTF-8"
            subprocess.run(["localedef", "-i", name, "-f", "UTF-8", str(tmp / locale)], check=True)
            env = {"LOCPATH": str(tmp), "LC_TIME": locale}
        text = run(["dmesg", "-F", str(buffer), "-T"], **env)
        (HERE / f"simple-memcg.dmesg-ctime-{suffix}").write_bytes(text)
        if suffix == "ja":
            january_fixture(text, env)


def january_fixture(ja_text: bytes, env: dict[str, str]) -> None:
    """dmesg -T in ja_JP in January, when glibc pads the month to two columns (" 1月"): the
    ja capture's stamps as strftime writes them (``date``, the format of util-linux dmesg's
    record_ctime, "%a %b %e %H:%M:%S %Y") at the same time of day on Monday 2026-01-05 (this
    machine's boot time gives November)."""
    stamp = run(["date", "-d", "2026-01-05 14:46:14", "+[%a %b %e %H:%M:%S %Y]"], **env).strip()
    lines = [stamp + line.partition(b"]")[2] for line in ja_text.splitlines()]
    (HERE / "simple-memcg.dmesg-ctime-ja-january").write_bytes(b"\n".join(lines) + b"\n")


def export_entry(boot: tuple[str, int], usec: int, message: str, kernel: bool, pri: int = 6) -> str:
    boot_id, boot_s = boot
    fields = {
        "__REALTIME_TIMESTAMP": boot_s * 10**6 + usec,
        "__MONOTONIC_TIMESTAMP": usec,
        "_BOOT_ID": boot_id,
        "_MACHINE_ID": "0123456789abcdef0123456789abcdef",
        "_HOSTNAME": HOST,
        "_TRANSPORT": "kernel" if kernel else "journal",
        "SYSLOG_IDENTIFIER": "kernel" if kernel else "systemd",
        "MESSAGE": message,
        "PRIORITY": pri & 7,  # (journald's from the record's "<pri>": its colour when printed)
        "SYSLOG_FACILITY": pri >> 3,
    }
    if kernel:
        fields["_SOURCE_MONOTONIC_TIMESTAMP"] = usec
    else:
        fields["_PID"] = 1
    return "".join(f"{k}={v}\n" for k, v in fields.items()) + "\n"


def journal_fixtures(boot_a: list, boot_b: list, tmp: Path) -> None:
    last_us = boot_b[-1][1]
    export = "".join(export_entry(BOOT_A, us, t, True, p) for p, us, t in boot_a)
    export += "".join(export_entry(BOOT_B, us, t, True, p) for p, us, t in boot_b)
    export += export_entry(BOOT_B, last_us + 20000, SYSTEMD_LINE, False)
    journal = tmp / "fixture.journal"
    subprocess.run(
        ["/lib/systemd/systemd-journal-remote", "-o", str(journal), "-"],
        input=export.encode(),
        check=True,
        capture_output=True,
    )
    outputs = ["short", "short-precise", "short-iso", "short-iso-precise", "short-full"]
    outputs += ["short-monotonic", "short-delta", "short-unix", "cat"]
    for output in outputs:
        text = run(["journalctl", "--file", str(journal), "-o", output])
        name = "plain-journal-cat" if output == "cat" else f"journal-{output}"  # cat: no prefix
        (HERE / f"simple-memcg.{name}").write_bytes(text)
    # the host column left out; with-unit (short-full's stamp, units named where known)
    text = run(["journalctl", "--file", str(journal), "-o", "short-precise", "--no-hostname"])
    (HERE / "simple-memcg.journal-short-precise-no-hostname").write_bytes(text)
    text = run(["journalctl", "--file", str(journal), "-o", "with-unit"])
    (HERE / "simple-memcg.journal-with-unit").write_bytes(text)
    # colours as on a terminal: the boot separator bold, each message but those of priority
    # info in its priority's colour (the kill line err, the report's header warning)
    for output in ["short", "short-precise", "short-iso", "short-iso-precise"]:
        text = run(["journalctl", "--file", str(journal), "-o", output], SYSTEMD_COLORS="1")
        (HERE / f"simple-memcg.journal-{output}-colors").write_bytes(text)
    # a zone that is not UTC (POSIX TZ "EST5": UTC-5, abbreviation EST, no DST)
    for output in ["short-precise", "short-full"]:
        text = run(["journalctl", "--file", str(journal), "-o", output], tz="EST5")
        (HERE / f"simple-memcg.journal-{output}-est").write_bytes(text)


def syslog_fixtures(records: list[tuple[int, int, str]]) -> None:
    boot = datetime.fromtimestamp(BOOT_B[1], timezone.utc)
    kern_log, messages = [], []
    lines = [(us, f"kernel: [{us // 10**6:5d}.{us % 10**6:06d}] ", t) for _p, us, t in records]
    lines.append((records[-1][1] + 20000, "systemd[1]: ", SYSTEMD_LINE))
    for us, ident, text in lines:
        wall = boot + timedelta(microseconds=us)
        # Debian/Ubuntu kern.log: rsyslog traditional format, klogd left the printk stamp in
        kern_log.append(f"{wall:%b} {wall.day:2d} {wall:%H:%M:%S} {HOST} {ident}{text}\n")
        # rsyslog's default RFC 3339 template (RSYSLOG_FileFormat), without the printk stamp
        ident = ident.split(" ")[0]
        messages.append(f"{wall.isoformat(timespec='microseconds')} {HOST} {ident} {text}\n")
    (HERE / "simple-memcg.syslog-kern-log").write_text("".join(kern_log))
    (HERE / "simple-memcg.syslog-rfc3339").write_text("".join(messages))


def main() -> None:
    records = kmsg_records(HERE / "simple-memcg.kmsg")
    other_boot = kmsg_records(SAMPLES / "cgroupfs-guaranteed-pod-limit.kmsg")[-2:]
    with tempfile.TemporaryDirectory() as tmp:
        dmesg_fixtures(records, Path(tmp))
        journal_fixtures(other_boot, records, Path(tmp))
    syslog_fixtures(records)


if __name__ == "__main__":
    main()
