"""A record's ``id``: the same kill gives the same id in every run, every restart and, where the
input carries the kernel's sequence numbers, every input format.

A sink deduplicates on it (e.g. as the document id): after a hard kill of a live oom-input the
records of the last few milliseconds may be written again, always with the same id.

- the kmsg sequence number of the report's last line (its kill line) known (live ``--kmsg``,
  ``cat /dev/kmsg`` files, Fluent Bit ``kmsg`` records): that number, the line's kernel time
  and the victim's pid - what the kernel itself printed, the same in every such format (host
  and boot id are not: a kmsg file names neither), and together unique in practice across
  boots and hosts;
- else the fields that tell one kill from another: host, boot id, kernel time (else the wall
  time), victim pid and name, trigger pid.

The id is 32 hex digits of a BLAKE2b digest of those values as a JSON array.
"""

from __future__ import annotations

import orjson

try:
    # hashlib loads OpenSSL (~2 ms at start-up) for its other algorithms; its blake2b is this
    # built-in module's all the same (hashlib.py: "Prefer our blake2 implementation"). The
    # standard library's random.py takes its sha512 the same way.
    from _blake2 import blake2b
except ImportError:  # a Python built without it: the official way
    from hashlib import blake2b

from oom_input.types import OomRecord

ID_DIGEST_BYTES = 16


def record_id(record: OomRecord) -> str:
    """The stable id of ``record`` (a pure function of its identifying fields)."""
    if record.seq_last is not None:
        parts: tuple[object, ...] = ("kmsg", record.seq_last, record.kernel_time_us, record.pid)
    else:
        parts = (
            "report",
            record.host,
            record.boot_id,
            record.kernel_time_us,
            record.time_of_death if record.kernel_time_us is None else None,
            record.pid,
            record.process_name,
            record.trigger_pid,
        )
    return blake2b(orjson.dumps(parts), digest_size=ID_DIGEST_BYTES).hexdigest()
