#!/usr/bin/env python3
"""Make a realistic kernel log of a given size with complete OOM reports in it.

Usage::

    python bench/make_corpus.py --size 200M --density sparse --format kmsg -o /tmp/sparse.kmsg

Writes the file and ``<file>.expected``, which holds the number of OOM kills in it (one record
per kill is what a correct reader makes of the file).

Deterministic: the same ``--seed``, size, density and format give the same bytes.

What is in it:

- ordinary kernel messages, a few thousand distinct ones made from templates: network
  (veth/bridge/conntrack/NIC), block devices and file systems (sd, nvme, ext4, xfs, loop), audit
  records, usb devices (with ``SUBSYSTEM=``/``DEVICE=`` dictionary lines in kmsg), early
  ``systemd[1]`` messages, segfaults, and multi-line ``WARNING:``/hung-task stack traces whose
  ``CPU: n UID: u PID: p Comm: c`` and ``Call Trace:`` lines look like an OOM report's;
- OOM reports shaped after the real captures in ``tests/data/real`` (Linux 6.18): memcg OOMs with
  cgroup v1 and v2 statistics, Kubernetes paths of both cgroup drivers (cgroupfs
  ``/kubepods/<qos>/pod<uid>/<64 hex>``, systemd ``kubepods-<qos>-pod<uid_>.slice/
  <runtime>-<64 hex>.scope``; containerd, cri-o, docker; limit on the container or on the pod),
  process names with spaces, commas and parentheses, and system OOMs (``Mem-Info:``, a task
  table, ``constraint=CONSTRAINT_NONE``, ``global_oom``, ``Out of memory: Killed process``),
  some followed by an ``oom_reaper:`` line;
- sparse: one report per 10,000 lines; dense: one per ~300 lines.

Formats: ``kmsg`` (``PRI,SEQ,USEC,FLAGS;text``, ``\\xNN`` escapes, dictionary lines), ``dmesg``
(``[  123.456789] text``), ``journal`` (``journalctl -o short-precise``: ``Nov 26
18:37:34.798531 node-a kernel: text``, UTC), ``journal-json`` (``journalctl -o json``, one
object per line with the journald fields) and ``syslog`` (rsyslog's traditional format as RHEL's
imjournal writes it: ``Nov 26 18:37:34 node-a kernel: text``, a multi-line record on one line
with ``#012`` between its lines, UTC).

Fast: the distinct lines are made once, then the file is assembled from them in bulk (200 MB in
~10-20 s).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

FORMATS = ("kmsg", "dmesg", "journal", "journal-json", "syslog")
DENSITIES = {"sparse": 10_000, "dense": 300}  # lines from one report start to the next

# Byte strings that open or complete a report for oom-input's scanner (assembler.OPEN_MARKERS)
# and the legacy "Task in" line: ordinary lines must not hold them, or the count is off.
FORBIDDEN_IN_ORDINARY = (
    "invoked oom-killer",
    "Killed process",
    "oom-kill:",
    "ill process",
    "no killable processes",
    "memory.oom.group",
    "Task in ",
)

HOST = "node-a"
BOOT_ID = "4f3b2a1c9d8e4f70a1b2c3d4e5f60718"
MACHINE_ID = "9c1e6f0a2b3d4c5e8f7a6b5c4d3e2f10"
SEQNUM_ID = "b7c6d5e4f3a2918079685746352413a0"
BOOT_EPOCH_US = 1_764_100_000_000_000  # 2025-11-25T19:46:40Z
KERNEL = "6.18.44-fc-v669"

Line = tuple[int, str, str]  # (syslog priority incl. facility, text, kmsg dictionary lines)


# --- small random helpers ---------------------------------------------------------------------
def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _mac(rng: random.Random) -> str:
    return ":".join(_hex(rng, 2) for _ in range(6))


def _ip(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _addr(rng: random.Random) -> str:
    return "ffff" + _hex(rng, 12)


def _sym(rng: random.Random) -> str:
    return f"{rng.choice(SYMBOLS)}+0x{rng.randrange(1, 0x400):x}/0x{rng.randrange(0x400, 0x1000):x}"


COMMS = (
    "kworker/1:2",
    "kworker/u8:3",
    "containerd",
    "kubelet",
    "dockerd",
    "runc",
    "java",
    "node",
    "python3",
    "nginx",
    "envoy",
    "etcd",
    "coredns",
    "postgres",
    "redis-server",
    "systemd",
    "journal-offline",
    "jbd2/sda1-8",
    "ksoftirqd/0",
    "rcu_sched",
    "swapper/0",
    "sshd",
    "bash",
)
SYMBOLS = (
    "__schedule",
    "schedule",
    "io_schedule",
    "rwsem_down_write_slowpath",
    "ext4_file_write_iter",
    "vfs_write",
    "ksys_write",
    "do_syscall_64",
    "entry_SYSCALL_64_after_hwframe",
    "netif_receive_skb",
    "__netif_receive_skb_core",
    "ip_rcv",
    "tcp_v4_rcv",
    "br_handle_frame",
    "process_one_work",
    "worker_thread",
    "kthread",
    "ret_from_fork",
    "ret_from_fork_asm",
    "dev_watchdog",
    "call_timer_fn",
    "__run_timers",
    "run_timer_softirq",
    "handle_softirqs",
    "irq_exit_rcu",
    "sysvec_apic_timer_interrupt",
    "nvme_timeout",
    "blk_mq_check_expired",
    "xfs_buf_ioend",
    "xfs_log_force",
    "folio_wait_bit_common",
    "filemap_fault",
)
MODULES = (
    "xt_conntrack nf_nat nf_conntrack nf_defrag_ipv6 nf_defrag_ipv4 overlay br_netfilter bridge "
    "stp llc veth xt_MASQUERADE iptable_nat xt_addrtype iptable_filter ip_tables x_tables "
    "nvme nvme_core ext4 mbcache jbd2 virtio_net net_failover failover virtio_blk"
)


# --- ordinary messages ------------------------------------------------------------------------
def _ordinary_templates() -> list[tuple[float, Callable[[random.Random], list[Line]]]]:
    """(weight, maker) pairs; each maker returns the lines of one message (most: one line)."""

    def one(pri: int, text: str, dictionary: str = "") -> list[Line]:
        return [(pri, text, dictionary)]

    def veth(r: random.Random) -> list[Line]:
        port = r.randrange(1, 64)
        dev = "veth" + _hex(r, 8)
        state = r.choice(("blocking", "forwarding", "disabled"))
        return one(6, f"cni0: port {port}({dev}) entered {state} state")

    def promisc(r: random.Random) -> list[Line]:
        verb = r.choice(("entered", "left"))
        return one(6, f"device veth{_hex(r, 8)} {verb} promiscuous mode")

    def addrconf(r: random.Random) -> list[Line]:
        dev = r.choice(("eth0", "eno1", "cni0", "flannel.1", "cali" + _hex(r, 11)))
        return one(6, f"IPv6: ADDRCONF(NETDEV_CHANGE): {dev}: link becomes ready")

    def nic(r: random.Random) -> list[Line]:
        dev = r.choice(("eno1", "eno2", "enp3s0f0", "enp3s0f1"))
        pci = f"0000:{r.randrange(256):02x}:00.{r.randrange(4)}"
        if r.random() < 0.5:
            text = f"e1000e {pci} {dev}: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx"
        else:
            text = f"ixgbe {pci} {dev}: NIC Link is Down"
        return one(6, text, f" SUBSYSTEM=net\n DEVICE=n{r.randrange(2, 40)}\n")

    def conntrack(r: random.Random) -> list[Line]:
        if r.random() < 0.5:
            return one(4, "nf_conntrack: nf_conntrack: table full, dropping packet")
        return one(4, f"net_ratelimit: {r.randrange(2, 900)} callbacks suppressed")

    def synflood(r: random.Random) -> list[Line]:
        port = r.choice((80, 443, 8080, 6443, 10250, 2379))
        return one(
            6,
            f"TCP: request_sock_TCP: Possible SYN flooding on port {_ip(r)}:{port}. Sending "
            "cookies.  Check SNMP counters.",
        )

    def ipvs(r: random.Random) -> list[Line]:
        return one(
            6, f"IPVS: rr: TCP {_ip(r)}:{r.choice((53, 80, 443))} - no destination available"
        )

    def sd(r: random.Random) -> list[Line]:
        h = f"{r.randrange(4)}:0:{r.randrange(2)}:0"
        disk = "sd" + r.choice("abcdefgh")
        blocks = r.randrange(10**8, 4 * 10**9)
        texts = (
            f"sd {h}: [{disk}] {blocks} 512-byte logical blocks: ({blocks * 512 / 1e12:.2f} TB/"
            f"{blocks * 512 // 2**30} GiB)",
            f"sd {h}: [{disk}] Write Protect is off",
            f"sd {h}: [{disk}] Write cache: enabled, read cache: enabled, "
            "doesn't support DPO or FUA",
            f"sd {h}: [{disk}] Attached SCSI disk",
        )
        return one(5, r.choice(texts), f" SUBSYSTEM=scsi\n DEVICE=+scsi:{h}\n")

    def ioerror(r: random.Random) -> list[Line]:
        dev = r.choice(("sdb", "sdc", "nvme1n1", "dm-3"))
        return one(
            3,
            f"I/O error, dev {dev}, sector {r.randrange(10**9)} op 0x{r.randrange(2)}:"
            f"({r.choice(('READ', 'WRITE'))}) flags 0x{r.choice(('0', '800', '4000'))} "
            f"phys_seg {r.randrange(1, 32)} prio class {r.randrange(3)}",
        )

    def nvme(r: random.Random) -> list[Line]:
        n = r.randrange(4)
        texts = (
            f"nvme nvme{n}: I/O tag {r.randrange(1024)} (1{_hex(r, 3)}) opcode 0x{r.randrange(3)} "
            f"(I/O Cmd) QID {r.randrange(1, 9)} timeout, completion polled",
            f"nvme nvme{n}: {r.randrange(1, 33)}/0/0 default/read/poll queues",
            f"nvme{n}n1: p1 p2 p3",
        )
        return one(4, r.choice(texts), f" SUBSYSTEM=nvme\n DEVICE=c{r.randrange(240, 250)}:{n}\n")

    def ext4(r: random.Random) -> list[Line]:
        dev = r.choice(("sda1", "sdb1", "nvme0n1p2", "dm-0", "dm-3", "loop7"))
        texts = (
            f"EXT4-fs ({dev}): mounted filesystem {_uuid(r)} r/w with ordered data mode. Quota "
            "mode: none.",
            f"EXT4-fs ({dev}): re-mounted {_uuid(r)} ro. Quota mode: none.",
            f"EXT4-fs ({dev}): unmounting filesystem {_uuid(r)}.",
            f"EXT4-fs warning (device {dev}): ext4_end_bio:{r.randrange(300, 400)}: I/O error 10 "
            f"writing to inode {r.randrange(10**7)} starting block {r.randrange(10**8)})",
        )
        return one(6, r.choice(texts))

    def xfs(r: random.Random) -> list[Line]:
        dev = r.choice(("nvme1n1", "sdc1", "dm-4"))
        texts = (
            f"XFS ({dev}): Mounting V5 Filesystem {_uuid(r)}",
            f"XFS ({dev}): Ending clean mount",
            f"XFS ({dev}): Unmounting Filesystem {_uuid(r)}",
        )
        return one(5, r.choice(texts))

    def loop(r: random.Random) -> list[Line]:
        n = r.randrange(32)
        return one(6, f"loop{n}: detected capacity change from 0 to {r.randrange(8, 2**22)}")

    def overlay(r: random.Random) -> list[Line]:
        return one(
            4,
            "overlayfs: upperdir is in-use as upperdir/workdir of another mount, accessing files "
            "from both mounts will result in undefined behavior.",
        )

    def audit(r: random.Random) -> list[Line]:
        ts = f"{(BOOT_EPOCH_US // 10**6) + r.randrange(10**6)}.{r.randrange(1000):03d}"
        serial = r.randrange(10**6)
        kind = r.randrange(4)
        if kind == 0:
            text = (
                f'audit: type=1400 audit({ts}:{serial}): apparmor="DENIED" operation="open" '
                f'class="file" profile="cri-containerd.apparmor.d" name="/proc/sys/kernel/'
                f'{r.choice(("shmmax", "pid_max", "core_pattern"))}" pid={r.randrange(10**6)} '
                f'comm="{r.choice(COMMS)}" requested_mask="r" denied_mask="r" fsuid=0 ouid=0'
            )
        elif kind == 1:
            text = (
                f"audit: type=1300 audit({ts}:{serial}): arch=c000003e syscall="
                f"{r.randrange(300)} success=yes exit=0 a0={_hex(r, 8)} a1={_hex(r, 6)} a2=0 a3=0 "
                f"items=0 ppid={r.randrange(10**5)} pid={r.randrange(10**6)} auid=4294967295 "
                "uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) "
                "ses=4294967295 "
                f'comm="{r.choice(COMMS)}" exe="/usr/bin/runc" subj=unconfined key=(null)'
            )
        elif kind == 2:
            title = "".join(f"{b:02X}" for b in r.choice(COMMS).encode())
            text = (
                f"audit: type=1327 audit({ts}:{serial}): proctitle={title}00{_hex(r, 20).upper()}"
            )
        else:
            text = (
                f"audit: type=1325 audit({ts}:{serial}): table=filter family=2 entries="
                f"{r.randrange(10, 4000)} op=xt_replace pid={r.randrange(10**6)} "
                f'subj=unconfined comm="iptables-restor"'
            )
        return one(5, text)

    def kauditd(r: random.Random) -> list[Line]:
        return one(4, f"kauditd_printk_skb: {r.randrange(1, 80)} callbacks suppressed")

    def usb(r: random.Random) -> list[Line]:
        bus = f"{r.randrange(1, 5)}-{r.randrange(1, 9)}"
        devno = r.randrange(2, 100)
        dictionary = f" SUBSYSTEM=usb\n DEVICE=c189:{devno}\n"
        texts = (
            f"usb {bus}: new high-speed USB device number {devno} using xhci_hcd",
            f"usb {bus}: New USB device found, idVendor={_hex(r, 4)}, idProduct={_hex(r, 4)}, "
            f"bcdDevice= {r.randrange(10)}.{r.randrange(100):02d}",
            f"usb {bus}: New USB device strings: Mfr=1, Product=2, SerialNumber=3",
            f"usb {bus}: Product: {r.choice(('Ultra', 'DataTraveler 3.0', 'USB Keyboard'))}",
            # the kernel escapes bytes >= 0x7f in /dev/kmsg: a UTF-8 product name
            f"usb {bus}: Manufacturer: {r.choice(('Kingston', 'SanDisk', 'Logitech'))} \u00ae",
            f"usb {bus}: USB disconnect, device number {devno}",
        )
        return one(6, r.choice(texts), dictionary)

    def usb_storage(r: random.Random) -> list[Line]:
        bus = f"{r.randrange(1, 5)}-{r.randrange(1, 9)}:1.0"
        return one(6, f"usb-storage {bus}: USB Mass Storage device detected")

    def systemd(r: random.Random) -> list[Line]:
        unit = r.choice(
            (
                "kubelet.service",
                "containerd.service",
                "docker.service",
                "sshd.service",
                "systemd-journald.service",
                "cron.service",
            )
        )
        texts = (
            f"systemd[1]: Started {unit}.",
            f"systemd[1]: Stopping {unit}...",
            f"systemd[1]: {unit}: Deactivated successfully.",
            f"systemd[1]: {unit}: Consumed {r.randrange(1, 900)}.{r.randrange(1000):03d}s "
            "CPU time.",
            f"systemd[1]: run-containerd-runc-k8s.io-{_hex(r, 64)}-runc.{_hex(r, 6)}.mount: "
            "Deactivated successfully.",
        )
        return one(30, r.choice(texts))

    def perf(r: random.Random) -> list[Line]:
        a = r.randrange(2500, 9000)
        return one(
            6,
            f"perf: interrupt took too long ({a} > {a - r.randrange(1, 300)}), lowering "
            f"kernel.perf_event_max_sample_rate to {r.randrange(20000, 80000)}",
        )

    def segfault(r: random.Random) -> list[Line]:
        comm = r.choice(("python3", "node", "java", "envoy", "grpc_health_pro"))
        return one(
            6,
            f"{comm}[{r.randrange(1000, 4_000_000)}]: segfault at {_hex(r, 4)} "
            f"ip 00007f{_hex(r, 10)} "
            f"sp 00007ff{_hex(r, 9)} error {r.choice((4, 6, 14))} in libc.so.6[7f{_hex(r, 10)}+"
            f"{_hex(r, 5)}] likely on CPU {r.randrange(2)} (core {r.randrange(2)}, socket 0)",
        )

    def cpu_boot(r: random.Random) -> list[Line]:
        # boot-time lines that contain "CPU: " without being a report's CPU line
        texts = (
            f"smpboot: CPU{r.randrange(1, 2)} is now offline",
            "x86/cpu: User Mode Instruction Prevention (UMIP) activated",
            f"mce: CPU: {r.randrange(2)} Machine Check: 0 Bank 4: 8c00004000010005",
            f"CPU: {r.randrange(2)} PID: {r.randrange(1, 10**6)} Comm: "
            f"{r.choice(COMMS)} Not tainted {KERNEL} #1",
        )
        return one(6, r.choice(texts))

    def clocksource(r: random.Random) -> list[Line]:
        return one(
            4,
            f"clocksource: timekeeping watchdog on CPU{r.randrange(2)}: Marking clocksource 'tsc' "
            f"as unstable because the skew is too large:",
        )

    def warning(r: random.Random) -> list[Line]:
        cpu = r.randrange(2)
        pid = r.randrange(1, 4_000_000)
        comm = r.choice(COMMS)
        src = r.choice(
            (
                "net/sched/sch_generic.c:525",
                "fs/ext4/inode.c:3920",
                "mm/page_alloc.c:4711",
                "kernel/workqueue.c:2291",
                "drivers/net/virtio_net.c:2100",
            )
        )
        func = r.choice(SYMBOLS)
        lines: list[Line] = [
            (4, "------------[ cut here ]------------", ""),
        ]
        if r.random() < 0.5:
            lines.append(
                (
                    4,
                    f"NETDEV WATCHDOG: eth0 (virtio_net): transmit queue {r.randrange(8)} "
                    f"timed out {r.randrange(5000, 9000)} ms",
                    "",
                )
            )
        lines += [
            (
                4,
                f"WARNING: CPU: {cpu} PID: {pid} at {src} {func}+0x{r.randrange(4096):x}/0x"
                f"{r.randrange(4096, 8192):x}",
                "",
            ),
            (4, f"Modules linked in: {MODULES}", ""),
            (
                4,
                f"CPU: {cpu} UID: 0 PID: {pid} Comm: {comm} Tainted: G        W          {KERNEL} "
                "#1 PREEMPT(none) ",
                "",
            ),
            (4, "Tainted: [W]=WARN", ""),
            (
                4,
                "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), "
                "BIOS 1.16.3-debian-1.16.3-2 "
                "04/01/2014",
                "",
            ),
        ]
        if comm.startswith("kworker"):
            lines.append((4, f"Workqueue: events_power_efficient {r.choice(SYMBOLS)}", ""))
        lines += [
            (4, f"RIP: 0010:{func}+0x{r.randrange(4096):x}/0x{r.randrange(4096, 8192):x}", ""),
            (4, "Code: " + " ".join(_hex(r, 2) for _ in range(42)), ""),
            (
                4,
                f"RSP: 0018:ffffb1{_hex(r, 10)} EFLAGS: 000{r.choice(('10246', '10282', '10202'))}",
                "",
            ),
            (4, f"RAX: 0000000000000000 RBX: {_addr(r)} RCX: 0000000000000027", ""),
            (4, f"RDX: 0000000000000000 RSI: {_addr(r)} RDI: {_addr(r)}", ""),
            (4, f"RBP: {_addr(r)} R08: 0000000000000000 R09: ffffb1{_hex(r, 10)}", ""),
            (4, f"R10: ffffb1{_hex(r, 10)} R11: ffffffff{_hex(r, 8)} R12: {_addr(r)}", ""),
            (4, f"R13: {_addr(r)} R14: 0000000000000000 R15: {_addr(r)}", ""),
            (
                4,
                f"FS:  0000000000000000({_addr(r)}) GS:{_addr(r)}(0000) knlGS:0000000000000000",
                "",
            ),
            (4, "CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033", ""),
            (4, f"CR2: 00007f{_hex(r, 10)} CR3: 0000000{_hex(r, 9)} CR4: 0000000000350ef0", ""),
            (4, "Call Trace:", ""),
            (4, " <TASK>", ""),
            (4, f" ? __warn+0x{r.randrange(64, 160):x}/0x130", ""),
        ]
        lines += [(4, " " + _sym(r), "") for _ in range(r.randrange(5, 14))]
        lines += [(4, " </TASK>", ""), (4, f"---[ end trace {_hex(r, 16)} ]---", "")]
        return lines

    def hung_task(r: random.Random) -> list[Line]:
        comm = r.choice(COMMS)
        pid = r.randrange(1, 4_000_000)
        lines: list[Line] = [
            (
                3,
                f"INFO: task {comm}:{pid} blocked for more than {r.choice((122, 245, 368))} "
                "seconds.",
                "",
            ),
            (3, f"      Tainted: G        W          {KERNEL} #1", ""),
            (3, '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.', ""),
            (
                6,
                f"task:{comm:<15} state:D stack:0     pid:{pid:<5} tgid:{pid:<5} ppid:"
                f"{r.randrange(1, 10**5):<6} flags:0x0000{r.choice(('4000', '0000', '4002'))}",
                "",
            ),
            (4, "Call Trace:", ""),
            (4, " <TASK>", ""),
        ]
        lines += [(4, " " + _sym(r), "") for _ in range(r.randrange(6, 16))]
        lines.append((4, " </TASK>", ""))
        return lines

    return [
        (10, veth),
        (5, promisc),
        (3, addrconf),
        (2, nic),
        (2, conntrack),
        (1, synflood),
        (2, ipvs),
        (3, sd),
        (1, ioerror),
        (2, nvme),
        (4, ext4),
        (2, xfs),
        (5, loop),
        (1, overlay),
        (12, audit),
        (2, kauditd),
        (3, usb),
        (1, usb_storage),
        (6, systemd),
        (1, perf),
        (1, segfault),
        (1, cpu_boot),
        (0.3, clocksource),
        (0.5, warning),
        (0.2, hung_task),
    ]


# --- OOM reports --------------------------------------------------------------------------------
ODD_NAMES = (
    "my (app), v2",
    "Web Content",
    "worker (1)",
    "a,b (c)",
    "java",
    "node",
    "python3",
    "nginx",
    "stress",
    "postgres: wal",
    "redis-server",
    "ruby: puma 6",
    "C2 CompilerThre",
    "envoy",
    "kube-apiserver",
    "(sd-pam)",
    "gunicorn: work",
    "dotnet",
    "php-fpm: pool w",
)
QOS = ("guaranteed", "burstable", "besteffort")


def _kube_paths(r: random.Random) -> tuple[str, str]:
    """(oom cgroup, task cgroup) of a Kubernetes container, either driver."""
    qos = r.choice(QOS)
    uid = _uuid(r)
    cid = _hex(r, 64)
    if r.random() < 0.5:  # cgroupfs driver
        pod = "/kubepods" + ("" if qos == "guaranteed" else f"/{qos}") + f"/pod{uid}"
        task = f"{pod}/{cid}"
    else:  # systemd driver
        runtime = r.choice(("cri-containerd", "cri-containerd", "crio", "docker"))
        u = uid.replace("-", "_")
        if qos == "guaranteed":
            pod = f"/kubepods.slice/kubepods-pod{u}.slice"
        else:
            pod = f"/kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod{u}.slice"
        task = f"{pod}/{runtime}-{cid}.scope"
    limit_on_pod = r.random() < 0.25
    return (pod if limit_on_pod else task), task


def _trace(r: random.Random, system: bool) -> list[Line]:
    frames = [
        "dump_stack_lvl+0x57/0x80",
        "dump_header+0x43/0x1c0",
        "oom_kill_process.cold+0x8/0x8a",
        "out_of_memory+0x214/0x500",
    ]
    if system:
        frames += [
            "__alloc_pages_slowpath.constprop.0+0xb3a/0xe50",
            "__alloc_frozen_pages_noprof+0x2d5/0x300",
            "alloc_pages_mpol+0x7e/0x180",
            "folio_alloc_mpol_noprof+0x14/0x40",
            "vma_alloc_folio_noprof+0x6a/0xb0",
        ]
    else:
        frames += [
            "mem_cgroup_out_of_memory+0xc0/0x110",
            "try_charge_memcg+0x422/0x6f0",
            "charge_memcg+0x2f/0x90",
            "__mem_cgroup_charge+0x2c/0x90",
        ]
    frames += ["do_anonymous_page+0x343/0xa20"]
    if r.random() < 0.5:
        frames += ["? srso_alias_return_thunk+0x5/0xfbef5"]
    frames += [
        "? ___pte_offset_map+0x17/0x100",
        "__handle_mm_fault+0xa1e/0xf40",
        "handle_mm_fault+0xd0/0x310",
        "exc_page_fault+0x176/0x770",
        "asm_exc_page_fault+0x22/0x30",
    ]
    lines: list[Line] = [(4, "Call Trace:", ""), (4, " <TASK>", "")]
    lines += [(4, " " + f, "") for f in frames]
    lines += [
        (4, f"RIP: 0033:0x7f{_hex(r, 10)}", ""),
        (
            4,
            "Code: 00 00 48 c7 c1 ff ff ff ff c4 e2 e8 f5 c9 c4 e1 fb 92 c9 62 e1 7f 49 7f 00 c3 "
            "66 0f 1f 44 00 00 40 0f b6 c6 48 89 d1 48 89 fa <f3> aa 48 89 d0 c3 48 3b 15 09 53 06 "
            "00 77 e7 62 e1 fe 48 7f 07 62",
            "",
        ),
        (4, f"RSP: 002b:00007ff{_hex(r, 9)} EFLAGS: 00010206", ""),
        (4, f"RAX: {_hex(r, 16)} RBX: 0000000000800000 RCX: 0000000000{_hex(r, 6)}", ""),
        (4, f"RDX: 00007f{_hex(r, 10)} RSI: 00000000ffffffa5 RDI: 00007f{_hex(r, 10)}", ""),
        (4, f"RBP: 00007f{_hex(r, 10)} R08: 00000000ffffffff R09: 0000000000000000", ""),
        (4, f"R10: 0000000000000022 R11: 0000000000000246 R12: 00007f{_hex(r, 10)}", ""),
        (4, f"R13: 0000000000000000 R14: 00007f{_hex(r, 10)} R15: 00007f{_hex(r, 10)}", ""),
        (4, " </TASK>", ""),
    ]
    return lines


V1_STATS = (
    "cache",
    "rss",
    "rss_huge",
    "shmem",
    "mapped_file",
    "dirty",
    "writeback",
    "workingset_refault_anon",
    "workingset_refault_file",
    "swap",
    "swapcached",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "hierarchical_memory_limit",
    "hierarchical_memsw_limit",
)
V2_STATS = (
    "anon",
    "file",
    "kernel",
    "kernel_stack",
    "pagetables",
    "sec_pagetables",
    "percpu",
    "sock",
    "vmalloc",
    "shmem",
    "zswap",
    "zswapped",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "swapcached",
    "anon_thp",
    "file_thp",
    "shmem_thp",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "slab_reclaimable",
    "slab_unreclaimable",
    "slab",
    "workingset_refault_anon",
    "workingset_refault_file",
    "workingset_activate_anon",
    "workingset_activate_file",
    "workingset_restore_anon",
    "workingset_restore_file",
    "workingset_nodereclaim",
    "pgscan",
    "pgsteal",
    "pgscan_kswapd",
    "pgscan_direct",
    "pgsteal_kswapd",
    "pgsteal_direct",
    "pgfault",
    "pgmajfault",
    "pgrefill",
    "pgactivate",
    "pgdeactivate",
    "pglazyfree",
    "pglazyfreed",
    "thp_fault_alloc",
    "thp_collapse_alloc",
)
TASK_HEADER = (
    "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes "
    "swapents oom_score_adj name"
)


def _task_row(pid: int, uid: int, vm: int, rss: int, adj: int, name: str) -> str:
    anon = rss * 9 // 10
    return (
        f"[{pid:>7}] {uid:>5} {pid:>5} {vm:>8} {rss:>8} {anon:>8} {rss - anon:>8} "
        f"{0:>9} {rss * 12 + 65536:>14} {0:>8} {adj:>13} {name}"
    )


def oom_report(r: random.Random) -> list[Line]:
    """One complete OOM report (header to kill line), perhaps with a late oom_reaper line."""
    system = r.random() < 0.15
    victim = r.choice(ODD_NAMES)
    pid = r.randrange(300, 4_194_304)
    uid = r.choice((0, 0, 0, 1000, 65534, 999))
    adj = r.choice((0, 0, 0, 500, 999, 1000, -997, 900))
    trigger, tpid = (
        (victim, pid) if r.random() < 0.8 else (r.choice(ODD_NAMES), r.randrange(300, 4_194_304))
    )
    limit_kb = r.choice((16, 48, 64, 128, 256, 512, 1024, 4096)) * 1024
    anon_kb = limit_kb - r.randrange(0, 2048)
    file_kb = r.randrange(0, 9000)
    vm_kb = anon_kb + file_kb + r.randrange(8000, 2_000_000)
    pgt_kb = r.randrange(40, 8000)
    if system:
        gfp = r.choice(
            (
                "0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP)",
                "0x100cca(GFP_HIGHUSER_MOVABLE)",
                "0xcc0(GFP_KERNEL)",
            )
        )
    else:
        gfp = "0xcc0(GFP_KERNEL)"
    lines: list[Line] = [
        (4, f"{trigger} invoked oom-killer: gfp_mask={gfp}, order=0, oom_score_adj={adj}", ""),
        (
            4,
            f"CPU: {r.randrange(2)} UID: {uid} PID: {tpid} Comm: {trigger} Not tainted {KERNEL} #1 "
            "PREEMPT(none) ",
            "",
        ),
    ]
    if system:
        lines.append(
            (
                4,
                "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS "
                "1.16.3-debian-1.16.3-2 04/01/2014",
                "",
            )
        )
    lines += _trace(r, system)
    victim_cg = "/"
    if system:
        pages = r.randrange(200_000, 4_000_000)
        free = r.randrange(5000, 20000)
        # one printk with embedded newlines (mm/show_mem.c)
        lines.append((6, "Mem-Info:", ""))
        lines.append(
            (
                4,
                (
                    f"active_anon:{r.randrange(10**6)} inactive_anon:{pages // 2} isolated_anon:0\n"
                    f" active_file:{r.randrange(500)} inactive_file:{r.randrange(500)} "
                    "isolated_file:0\n"
                    " unevictable:0 dirty:0 writeback:0\n"
                    f" slab_reclaimable:{r.randrange(10**4)} "
                    f"slab_unreclaimable:{r.randrange(10**5)}\n"
                    f" mapped:{r.randrange(1000)} shmem:{r.randrange(1000)} "
                    f"pagetables:{r.randrange(10**4)}\n"
                    " sec_pagetables:0 bounce:0\n"
                    " kernel_misc_reclaimable:0\n"
                    f" free:{free} free_pcp:{r.randrange(500)} free_cma:0"
                ),
                "",
            )
        )
        lines += [
            (
                4,
                f"Node 0 active_anon:{r.randrange(10**6)}kB inactive_anon:{pages * 2}kB "
                "active_file:0kB inactive_file:148kB unevictable:0kB isolated(anon):0kB "
                "isolated(file):0kB mapped:0kB dirty:0kB writeback:0kB shmem:0kB shmem_thp:0kB "
                "shmem_pmdmapped:0kB anon_thp:0kB writeback_tmp:0kB kernel_stack:2432kB "
                "pagetables:9104kB sec_pagetables:0kB all_unreclaimable? yes",
                "",
            ),
            (
                4,
                "Node 0 DMA free:14336kB boost:0kB min:128kB low:160kB high:192kB "
                "reserved_highatomic:0KB active_anon:0kB inactive_anon:0kB active_file:0kB "
                "inactive_file:0kB unevictable:0kB writepending:0kB present:15992kB "
                "managed:15360kB mlocked:0kB bouncemem:0kB free_pcp:0kB local_pcp:0kB "
                "free_cma:0kB",
                "",
            ),
            (4, "lowmem_reserve[]: 0 2956 7893 7893 7893", ""),
            (
                4,
                f"Node 0 DMA32 free:{free * 2}kB boost:0kB min:24704kB low:30880kB high:37056kB "
                "reserved_highatomic:0KB",
                "",
            ),
            (4, "lowmem_reserve[]: 0 0 4937 4937 4937", ""),
            (
                4,
                "Node 0 DMA: 0*4kB 0*8kB 0*16kB 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 0*1024kB "
                "1*2048kB (M) 3*4096kB (M) = 14336kB",
                "",
            ),
            (
                4,
                f"Node 0 DMA32: {r.randrange(900)}*4kB (UME) {r.randrange(500)}*8kB (UME) "
                f"{r.randrange(300)}*16kB (UME) 0*32kB 0*64kB 0*128kB 0*256kB 0*512kB 0*1024kB "
                "0*2048kB 0*4096kB = 25208kB",
                "",
            ),
            (
                6,
                "Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB",
                "",
            ),
            (4, f"{r.randrange(100, 900)} total pagecache pages", ""),
            (4, "0 pages in swap cache", ""),
            (4, "Free swap  = 0kB", ""),
            (4, "Total swap = 0kB", ""),
            (4, f"{pages} pages RAM", ""),
            (4, "0 pages HighMem/MovableOnly", ""),
            (4, f"{r.randrange(30000, 90000)} pages reserved", ""),
        ]
        _oom_cg, task_cg = (
            _kube_paths(r)
            if r.random() < 0.6
            else (
                "/",
                r.choice(
                    (
                        "/system.slice/postgresql.service",
                        "/user.slice/user-1000.slice/session-3.scope",
                        "/system.slice/containerd.service",
                    )
                ),
            )
        )
    else:
        oom_cg, task_cg = (
            _kube_paths(r) if r.random() < 0.85 else ("/machine/demo", "/machine/demo")
        )
        victim_cg = oom_cg
        usage = limit_kb
        if r.random() < 0.5:  # cgroup v1 (the captures' shape)
            lines += [
                (
                    6,
                    f"memory: usage {usage}kB, limit {limit_kb}kB, failcnt {r.randrange(1, 500)}",
                    "",
                ),
                (6, f"memory+swap: usage {usage}kB, limit 9007199254740988kB, failcnt 0", ""),
                (
                    6,
                    f"kmem: usage {r.randrange(50, 900)}kB, limit 9007199254740988kB, failcnt 0",
                    "",
                ),
                (6, f"Memory cgroup stats for {oom_cg}:", ""),
            ]
            values = [r.choice((0, 0, r.randrange(10**8))) for _ in V1_STATS]
            lines += [(6, f"{k} {v}", "") for k, v in zip(V1_STATS, values, strict=True)]
            lines += [
                (6, f"total_{k} {v}", "") for k, v in zip(V1_STATS[:20], values[:20], strict=True)
            ]
        else:  # cgroup v2
            lines += [
                (
                    6,
                    f"memory: usage {usage}kB, limit {limit_kb}kB, failcnt {r.randrange(1, 500)}",
                    "",
                ),
                (6, "swap: usage 0kB, limit 0kB, failcnt 0", ""),
                (6, f"Memory cgroup stats for {oom_cg}:", ""),
            ]
            lines += [(6, f"{k} {r.choice((0, r.randrange(10**9)))}", "") for k in V2_STATS]
    lines += [(6, "Tasks state (memory values in pages):", ""), (6, TASK_HEADER, "")]
    rows = [(pid, uid, vm_kb // 4, (anon_kb + file_kb) // 4, adj, victim)]
    for _ in range(r.randrange(20, 60) if system else r.randrange(0, 4)):
        rows.append(
            (
                r.randrange(1, 4_194_304),
                r.choice((0, 0, 1000)),
                r.randrange(2000, 400000),
                r.randrange(100, 30000),
                r.choice((0, -999, 1000)),
                r.choice(COMMS),
            )
        )
    rows.sort()
    lines += [(6, _task_row(*row), "") for row in rows]
    constraint = "CONSTRAINT_NONE" if system else "CONSTRAINT_MEMCG"
    memcg = "global_oom" if system else f"oom_memcg={victim_cg}"
    lines.append(
        (
            6,
            f"oom-kill:constraint={constraint},nodemask=(null),cpuset=/,mems_allowed=0,"
            f"{memcg},task_memcg={task_cg},task={victim},pid={pid},uid={uid}",
            "",
        )
    )
    reason = "Out of memory" if system else "Memory cgroup out of memory"
    lines.append(
        (
            3,
            f"{reason}: Killed process {pid} ({victim}) total-vm:{vm_kb}kB, "
            f"anon-rss:{anon_kb}kB, file-rss:{file_kb}kB, shmem-rss:0kB, UID:{uid} "
            f"pgtables:{pgt_kb}kB oom_score_adj:{adj}",
            "",
        )
    )
    if r.random() < 0.3:
        lines.append(
            (
                6,
                f"oom_reaper: reaped process {pid} ({victim}), now anon-rss:0kB, "
                "file-rss:0kB, shmem-rss:0kB",
                "",
            )
        )
    return lines


# --- output formats ---------------------------------------------------------------------------
def _kmsg_escape(text: str) -> str:
    """The /dev/kmsg escaping: bytes < 0x20 (but not tab... the kernel escapes it too), >= 0x7f
    and the backslash become \\xNN."""
    raw = text.encode("utf-8")
    if all(32 <= b < 127 and b != 92 for b in raw):
        return text
    return "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02x}" for b in raw)


class Writer:
    """Turns (priority, text, dictionary) lines into one format's bytes. ``prepare`` does the
    per-distinct-line work once; ``render`` adds the per-occurrence sequence number and time."""

    def prepare(self, line: Line) -> object:
        raise NotImplementedError

    def render(self, prepared: object, seq: int, usec: int) -> str:
        raise NotImplementedError


class KmsgWriter(Writer):
    def prepare(self, line: Line) -> object:
        pri, text, dictionary = line
        return f"{pri},", f",-;{_kmsg_escape(text)}\n{dictionary}"

    def render(self, prepared: object, seq: int, usec: int) -> str:
        head, tail = prepared  # type: ignore[misc]
        return f"{head}{seq},{usec}{tail}"


class DmesgWriter(Writer):
    def prepare(self, line: Line) -> object:
        return line[1] + "\n"

    def render(self, prepared: object, seq: int, usec: int) -> str:
        return f"[{usec // 1_000_000:5d}.{usec % 1_000_000:06d}] {prepared}"


def _ident_text(line: Line) -> tuple[str, str]:
    """The syslog identifier and message of a line (journalctl's and syslog's ident column)."""
    pri, text, _ = line
    if pri >> 3 == 3 and text.startswith("systemd[1]: "):  # daemon facility: systemd's own
        return "systemd[1]", text[len("systemd[1]: ") :]
    return "kernel", text


class JournalWriter(Writer):
    """journalctl -o short-precise, UTC; continuation lines indented under the message."""

    def __init__(self) -> None:
        self._sec = -1
        self._stamp = ""

    def prepare(self, line: Line) -> object:
        ident, text = _ident_text(line)
        first, *rest = text.split("\n")
        head = f" {HOST} {ident}: "
        indent = " " * (len("Nov 26 18:37:34.798531") + len(head))
        return head + first + "\n" + "".join(indent + more + "\n" for more in rest)

    def render(self, prepared: object, seq: int, usec: int) -> str:
        wall = BOOT_EPOCH_US + usec
        sec = wall // 1_000_000
        if sec != self._sec:
            self._sec = sec
            self._stamp = time.strftime("%b %d %H:%M:%S", time.gmtime(sec))
        return f"{self._stamp}.{wall % 1_000_000:06d}{prepared}"


class SyslogWriter(Writer):
    """rsyslog's traditional file format as RHEL writes /var/log/messages (imjournal), UTC: a
    multi-line record on one line, control characters (newlines) as ``#`` and three octal
    digits."""

    def __init__(self) -> None:
        self._sec = -1
        self._stamp = ""

    def prepare(self, line: Line) -> object:
        ident, text = _ident_text(line)
        if any(ord(c) < 32 for c in text):
            text = "".join(f"#{ord(c):03o}" if ord(c) < 32 else c for c in text)
        return f" {HOST} {ident}: {text}\n"

    def render(self, prepared: object, seq: int, usec: int) -> str:
        sec = (BOOT_EPOCH_US + usec) // 1_000_000
        if sec != self._sec:
            self._sec = sec
            moment = time.gmtime(sec)  # RFC 3164 pads the day with a space: "Nov  5"
            day = f"{moment.tm_mday:2d}"
            self._stamp = time.strftime(f"%b {day} %H:%M:%S", moment)
        return f"{self._stamp}{prepared}"


class JournalJsonWriter(Writer):
    """journalctl -o json: one object per entry with the journald fields, in journald's order."""

    def prepare(self, line: Line) -> object:
        pri, text, dictionary = line
        tail = ""
        if pri >> 3 == 3 and text.startswith("systemd[1]: "):
            text = text[len("systemd[1]: ") :]
            ident = ',"SYSLOG_IDENTIFIER":"systemd","_PID":"1","_COMM":"systemd"'
            transport = "journal"
        else:
            ident = ',"SYSLOG_IDENTIFIER":"kernel"'
            transport = "kernel"
        if dictionary:
            fields = dict(item.strip().split("=", 1) for item in dictionary.splitlines())
            tail = (
                f',"_KERNEL_SUBSYSTEM":{json.dumps(fields.get("SUBSYSTEM", ""))},'
                f'"_KERNEL_DEVICE":{json.dumps(fields.get("DEVICE", ""))}'
            )
        if any(ord(c) < 32 and c not in "\n\t" for c in text):
            message = "[" + ",".join(str(b) for b in text.encode()) + "]"
        else:
            message = json.dumps(text, ensure_ascii=False)
        return (
            f'","_TRANSPORT":"{transport}","PRIORITY":"{pri & 7}","SYSLOG_FACILITY":"{pri >> 3}"'
            f'{ident},"_MACHINE_ID":"{MACHINE_ID}","_HOSTNAME":"{HOST}"{tail},'
            f'"_RUNTIME_SCOPE":"system","MESSAGE":{message}}}\n'
        )

    def render(self, prepared: object, seq: int, usec: int) -> str:
        wall = BOOT_EPOCH_US + usec
        mono = usec + 1_234
        xor = (seq * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        return (
            f'{{"__CURSOR":"s={SEQNUM_ID};i={seq:x};b={BOOT_ID};m={mono:x};t={wall:x};x={xor:016x}",'
            f'"__REALTIME_TIMESTAMP":"{wall}","__MONOTONIC_TIMESTAMP":"{mono}",'
            f'"__SEQNUM":"{seq}","__SEQNUM_ID":"{SEQNUM_ID}","_BOOT_ID":"{BOOT_ID}",'
            f'"_SOURCE_MONOTONIC_TIMESTAMP":"{usec}{prepared}'
        )


WRITERS: dict[str, type[Writer]] = {
    "kmsg": KmsgWriter,
    "dmesg": DmesgWriter,
    "journal": JournalWriter,
    "journal-json": JournalJsonWriter,
    "syslog": SyslogWriter,
}


# --- assembly ---------------------------------------------------------------------------------
def parse_size(text: str) -> int:
    """``200M``, ``2G``, ``500K``, ``1000`` (bytes)."""
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in "KMG" else text
    return int(float(number) * scale)


def generate(size: int, density: str, fmt: str, seed: int = 1) -> Iterator[tuple[str, int]]:
    """Yield (text chunk, kills so far) until about ``size`` bytes were yielded (whole reports,
    whole lines; the last chunk may overshoot by a report)."""
    if density not in DENSITIES:
        raise ValueError(f"density must be one of {', '.join(DENSITIES)}")
    r = random.Random(f"{seed}:{density}")  # the same log for every format
    writer = WRITERS[fmt]()
    templates = _ordinary_templates()
    pool: list[list[object]] = []
    weights: list[float] = []
    per_template = 160
    for weight, maker in templates:
        for _ in range(per_template):
            lines = maker(r)
            for _pri, text, _d in lines:
                bad = [m for m in FORBIDDEN_IN_ORDINARY if m in text]
                assert not bad, (bad, text)
            pool.append([writer.prepare(line) for line in lines])
            weights.append(weight / per_template)
    n_pool = len(pool)
    cum = []
    total = 0.0
    for w in weights:
        total += w
        cum.append(total)
    deltas = [1, 3, 20, 150, 900, 4_000, 20_000, 80_000, 300_000, 1_500_000]
    interval = DENSITIES[density]
    seq = r.randrange(1000, 5000)
    usec = r.randrange(5_000_000, 50_000_000)
    written = 0
    kills = 0
    buf: list[str] = []
    buffered = 0
    while written + buffered < size:
        report = [writer.prepare(line) for line in oom_report(r)]
        gap = max(interval - len(report) + r.randrange(-interval // 10, interval // 10 + 1), 20)
        picks = r.choices(range(n_pool), cum_weights=cum, k=gap)
        steps = r.choices(deltas, k=gap)
        emitted = 0
        for idx, step in zip(picks, steps, strict=True):
            usec += step
            for prepared in pool[idx]:
                seq += 1
                usec += 2
                s = writer.render(prepared, seq, usec)
                buf.append(s)
                buffered += len(s)
            emitted += len(pool[idx])
            if emitted >= gap:
                break
        usec += r.randrange(1, 2_000_000)
        for prepared in report:
            seq += 1
            usec += r.randrange(1, 60)
            s = writer.render(prepared, seq, usec)
            buf.append(s)
            buffered += len(s)
        kills += 1
        if buffered >= 4 << 20:
            chunk = "".join(buf)
            buf.clear()
            written += buffered
            buffered = 0
            yield chunk, kills
    if buf:
        yield "".join(buf), kills


def make_corpus(path: Path, size: int, density: str, fmt: str, seed: int = 1) -> int:
    """Write the corpus and its ``.expected`` sidecar; return the number of kills."""
    kills = 0
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as out:
        for chunk, kills_so_far in generate(size, density, fmt, seed):
            out.write(chunk.encode("utf-8"))
            kills = kills_so_far
    tmp.replace(path)
    Path(str(path) + ".expected").write_text(f"{kills}\n")
    return kills


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--size", default="200M", help="approximate size: 200M, 2G, 500K (default 200M)"
    )
    parser.add_argument("--density", choices=tuple(DENSITIES), default="sparse")
    parser.add_argument("--format", choices=FORMATS, default="kmsg")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="file to write (default: corpus-<density>-<size>.<format> in the current directory)",
    )
    args = parser.parse_args(argv)
    path = args.output or Path(f"corpus-{args.density}-{args.size}.{args.format}")
    started = time.perf_counter()
    kills = make_corpus(path, parse_size(args.size), args.density, args.format, args.seed)
    print(
        f"{path}: {path.stat().st_size / 1e6:.1f} MB, {kills} OOM kills, "
        f"{time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
