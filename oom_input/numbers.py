"""The numbers a report prints, as a record may hold them.

A damaged or crafted line may print any digits: ``int()`` refuses more than 4300 of them (a
``ValueError`` that would stop the stream), and JSON readers, orjson and msgpack stop at 64 bits.
So every number read from a line goes through ``parse_int``, and a record's numbers beyond 64 bits
are unknown (``in_range``).
"""

from __future__ import annotations

import zlib
from typing import Final

MAX_NUMBER: Final = (1 << 63) - 1
# int()'s limit (Python 3.11+, sys.get_int_max_str_digits()): a text this short holds no number
# it refuses, so int() may read its digits directly
INT_SAFE_CHARS: Final = 4300
# what a digit string longer than _MAX_CHARS reads as: out of range, so unknown (plus the
# digits' CRC, so that the same digits still read as the same number and others as another)
TOO_LONG: Final = 1 << 64
# well past the 20 characters of any 64-bit number (longer ones still read apart), and cheap
_MAX_CHARS: Final = 64


def parse_int(digits: str | bytes) -> int:
    """``int(digits)`` for the digits a regex matched; past 64 characters a number beyond
    ``TOO_LONG``."""
    if len(digits) <= _MAX_CHARS:
        return int(digits)
    return TOO_LONG + zlib.crc32(digits.encode() if isinstance(digits, str) else digits)


def in_range(value: int) -> bool:
    """Can every 64-bit reader hold this number?"""
    return -MAX_NUMBER <= value <= MAX_NUMBER
