"""Plain kernel message text, one message per line, with no prefix at all.

Accepted lines: anything. This is the output of ``journalctl -k -o cat`` and ``dmesg -t``, and
the last resort of auto-detection: a line no other decoder recognised is still offered to the
assembler, as is (a trailing carriage return removed, invalid UTF-8 replaced and reported).
No time, host or boot id. Example::

    Memory cgroup out of memory: Killed process 3171 (stress) total-vm:57548kB, ...
    -> KernelLine(text="Memory cgroup out of memory: Killed process 3171 (stress) ...",
                  source_format="plain")
"""

from __future__ import annotations

from typing import ClassVar

from oom_input.decoders._common import decode_text, strip_cr
from oom_input.types import DecodeOptions, KernelLine


class PlainDecoder:
    """The whole line is the message; never rejects a line."""

    name: ClassVar[str] = "plain"
    extra_markers: ClassVar[tuple[bytes, ...]] = ()
    # every line of this format is of one source: it names no host or boot id (see
    # LineScanner: a report's header then bounds the look-back for its context lines)
    one_source: ClassVar[bool] = True

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options

    def decode(self, raw: bytes) -> KernelLine:
        """The line as a kernel message."""
        text = decode_text(strip_cr(raw), raw, self.options)
        return KernelLine(text=text, source_format=self.name)
