"""TEMPLATE for a new line format: copy to ``oom_input/decoders/<format>.py`` and fill in.

(This module docstring is the format's user documentation: say which program writes the
format, show its accepted lines and what each gives, then one example. The made-up format
below, ``KERNEL_US text``, is only here so that the template runs and its test passes.)

Accepted lines::

    <kernel time in µs> <text>        kernel_us
    1194840714 stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0

A line whose time has more than 20 digits is reported (``broken template time``) and
rejected (None); any other line without a leading number is not this format (None, no report).
Example::

    1194840991 Memory cgroup out of memory: Killed process 3171 (stress) ...
    -> KernelLine(text="Memory cgroup out of memory: Killed process 3171 (stress) ...",
                  kernel_us=1194840991, source_format="template")

To add a format (one module, one registry line, one fixture, one test):

1. copy this file to ``oom_input/decoders/<format>.py``; rename the class; set ``name``;
2. add ``LineFormat("<format>", "oom_input.decoders.<format>:<Class>", "<help line>")`` to
   ``oom_input.registry.LINE_FORMATS``, before ``plain`` (earlier entries win when two formats
   claim a line; ``detected=False`` keeps it out of auto-detection);
3. add a fixture ``tests/data/decoders/<sample>.<format>`` (real output of the program, or a
   faithful rendering of a real capture; say how in ``tests/data/decoders/README.md``):
   ``tests/test_formats.py`` finds it by its name and reads it with ``--input-format <format>``;
4. copy ``tests/test_template_format.py`` to ``tests/test_<format>.py`` and fill it in.
"""

from __future__ import annotations

import re
from typing import ClassVar

from oom_input.decoders._common import decode_text, strip_cr
from oom_input.types import DecodeOptions, Ignored, KernelLine

# the made-up format's prefix: "<digits> " (say here which program prints it, since which version)
TEMPLATE_PREFIX = re.compile(rb"(?P<usec>\d+) ")
MAX_USEC_DIGITS = 20  # int() of more digits is slow, and no kernel time is that long


class TemplateDecoder:
    """``KERNEL_US text`` lines (replace with one line about the format)."""

    name: ClassVar[str] = "template"
    # byte strings that make a line worth decoding besides the report markers (e.g. a format's
    # boot separator lines); most formats need none
    extra_markers: ClassVar[tuple[bytes, ...]] = ()

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options

    def decode(self, raw: bytes) -> KernelLine | Ignored | None:
        """One line: a kernel line, IGNORED (this format, but not a kernel message), or None
        (not this format)."""
        line = strip_cr(raw)
        prefix = TEMPLATE_PREFIX.match(line)
        if prefix is None:
            return None
        if len(prefix["usec"]) > MAX_USEC_DIGITS:
            self.options.report("broken template time", raw)
            return None
        return KernelLine(
            text=decode_text(line[prefix.end() :], raw, self.options),
            kernel_us=int(prefix["usec"]),
            source_format=self.name,
        )
