"""Terminal escape sequences in text captures.

``dmesg --color=always`` (util-linux) colours each line's stamp, the text up to its first
``": "`` and the rest with ECMA-48 CSI sequences (``ESC [ 32 m``): they split the words a reader
searches for (``invoked oom-killer: ESC[0m ESC[1m gfp_mask=``) and would stay in the text. A
file whose first line holds one (dmesg colours every line's stamp) is read without them; any
other file is read as it is, at no cost (the kernel, journalctl's JSON and /dev/kmsg escape the
ESC byte, so it never stands in their lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from oom_input.peek import first_line

# ECMA-48 (5.4) control sequence: ESC "[", parameter bytes, intermediate bytes, a final byte
CSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]")
# a control sequence a read may have cut: ESC at the chunk's end, or ESC "[" and no final byte yet
_CUT_CSI = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*)?")
_CUT_SEARCH_BYTES = 64  # a cut sequence is looked for this far back from a chunk's end


def colored(head: bytes) -> bool:
    """Whether the first line of ``head`` (a file's first bytes, its first line whole; blank
    lines before it skipped) holds a CSI sequence."""
    line = first_line(head)
    return line is not None and CSI.search(head, *line) is not None


def without_escapes(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` without their CSI sequences (one cut by a read is joined first)."""
    carry = b""
    for chunk in chunks:
        data = carry + chunk if carry else chunk
        carry = b""
        at = data.rfind(b"\x1b", max(0, len(data) - _CUT_SEARCH_BYTES))
        if at >= 0 and _CUT_CSI.fullmatch(data, at) is not None:
            data, carry = data[:at], data[at:]
        yield CSI.sub(b"", data)
    if carry:
        yield carry


__all__ = ["CSI", "colored", "without_escapes"]
