"""Input formats: one module per format, one registry (``DECODERS``) here.

``make_decoder(name, options)`` gives the decoder for ``--input-format NAME``:

- a format name (``DECODER_NAMES``): that format only; a line it rejects is reported
  (``not a <name> line``) and still offered to the assembler as plain text, never dropped;
- ``"auto"``: an ``AutoDecoder``, which detects the format per line, so that a file may mix
  them (dmesg lines and continuation lines, two captures concatenated). It tries the format of
  the previous line first, then the others in ``DECODER_NAMES`` order, ``plain`` last.

Line formats that are JSON (``json``: journal entries and agents' records, one per line) are
detected per line too; ``journal-json`` is the same decoder restricted to the journal's own
entries, for ``--input-format journal-json`` only (auto reads those lines with ``json``).

Stream formats are not line-framed (``STREAM_DECODER_NAMES``: ``msgpack``, ``journal-export``):
``detect_stream(head)`` tells one from the first bytes of a stream (None: a line format), and
``make_stream_decoder(name, options)`` gives its ``oom_input.types.StreamDecoder``.

Adding a format: write ``oom_input/decoders/<format>.py`` with one class following
``oom_input.types.Decoder`` (its module docstring is its user documentation) and add the class
to ``DECODERS``, before ``PlainDecoder`` (earlier entries win when two formats claim a line).
"""

from __future__ import annotations

from typing import ClassVar

from oom_input.decoders.dmesg import DmesgDecoder
from oom_input.decoders.journal import JournalDecoder
from oom_input.decoders.journal_export import JournalExportDecoder
from oom_input.decoders.json_records import JournalJsonDecoder, JsonDecoder
from oom_input.decoders.kmsg import KmsgDecoder
from oom_input.decoders.msgpack_stream import ITEM_START, MsgpackDecoder
from oom_input.decoders.plain import PlainDecoder
from oom_input.decoders.syslog import SyslogDecoder
from oom_input.types import DecodeOptions, Decoder, KernelLine, StreamDecoder, _Ignored

# auto-detection order; PlainDecoder accepts every line, so it must stay last
DECODERS: tuple[type[Decoder], ...] = (
    KmsgDecoder,
    DmesgDecoder,
    JournalDecoder,
    SyslogDecoder,
    JsonDecoder,
    PlainDecoder,
)
# selectable by name only: auto reads their lines with another decoder of DECODERS
NAMED_DECODERS: tuple[type[Decoder], ...] = (JournalJsonDecoder,)
DECODER_NAMES: tuple[str, ...] = tuple(decoder.name for decoder in DECODERS + NAMED_DECODERS)
AUTO = "auto"

STREAM_DECODERS: tuple[type[StreamDecoder], ...] = (MsgpackDecoder, JournalExportDecoder)
STREAM_DECODER_NAMES: tuple[str, ...] = tuple(decoder.name for decoder in STREAM_DECODERS)
# journalctl -o export starts every entry with these fields, in this order
_EXPORT_HEADS = (b"__CURSOR=", b"__REALTIME_TIMESTAMP=")


class AutoDecoder:
    """Detects the format of each line: the previous line's format first, then all in order.

    Its ``extra_markers`` are those of the formats seen so far (every extra marker costs the
    reader one more pass over the input): a reader shows it a file's first line, and re-reads
    the attribute after each line it decoded."""

    name: ClassVar[str] = AUTO

    def __init__(self, options: DecodeOptions) -> None:
        self._decoders = [cls(options) for cls in DECODERS if cls is not PlainDecoder]
        self._plain = PlainDecoder(options)
        self._last: Decoder | None = None  # decoder of the previous recognised line
        self.extra_markers: tuple[bytes, ...] = ()
        self._seen: set[str] = set()

    def decode(self, raw: bytes) -> KernelLine | _Ignored:
        """The line decoded by the first format that claims it, else as plain text."""
        last = self._last
        if last is not None:
            result = last.decode(raw)
            if result is not None:
                return result
        for decoder in self._decoders:
            if decoder is not last:
                result = decoder.decode(raw)
                if result is not None:
                    self._last = decoder
                    if decoder.name not in self._seen:
                        self._seen.add(decoder.name)
                        if decoder.extra_markers:
                            self.extra_markers = tuple(
                                dict.fromkeys((*self.extra_markers, *decoder.extra_markers))
                            )
                    return result
        # plain is not remembered: it claims every line and would shadow all other formats
        return self._plain.decode(raw)


class FormatDecoder:
    """One named format; a line it rejects is reported and offered as plain text."""

    def __init__(self, decoder_class: type[Decoder], options: DecodeOptions) -> None:
        self.name = decoder_class.name
        self.extra_markers = decoder_class.extra_markers
        self._decoder = decoder_class(options)
        self._plain = PlainDecoder(options)
        self._report = options.report
        self._reason = f"not a {self.name} line"

    def decode(self, raw: bytes) -> KernelLine | _Ignored:
        """The line in this format, else reported and taken as plain text."""
        result = self._decoder.decode(raw)
        if result is None:
            self._report(self._reason, raw)
            return self._plain.decode(raw)
        return result


def make_decoder(name: str, options: DecodeOptions) -> Decoder:
    """The decoder for ``--input-format NAME``: a name of ``DECODER_NAMES`` or ``"auto"``."""
    if name == AUTO:
        return AutoDecoder(options)
    for decoder_class in DECODERS + NAMED_DECODERS:
        if decoder_class.name == name:
            if decoder_class is PlainDecoder:  # rejects nothing: no fallback needed
                return PlainDecoder(options)
            # FormatDecoder sets name/extra_markers per instance, not as class variables
            return FormatDecoder(decoder_class, options)  # type: ignore[return-value]
    choices = ", ".join((AUTO, *DECODER_NAMES))
    raise ValueError(f"unknown input format {name!r}: choose one of {choices}")


def detect_stream(head: bytes) -> str | None:
    """The stream format that ``head`` (the first bytes of a stream) starts, None for a line
    format: a msgpack map or array header is ``msgpack`` (no text log starts with such a byte:
    0x80-0x9f, 0xdc-0xdf are not valid UTF-8 lead bytes); ``__CURSOR=`` or
    ``__REALTIME_TIMESTAMP=`` starts ``journal-export``."""
    if head[:1] and head[0] in ITEM_START:
        return MsgpackDecoder.name
    if head.startswith(_EXPORT_HEADS):
        return JournalExportDecoder.name
    return None


def make_stream_decoder(name: str, options: DecodeOptions) -> StreamDecoder:
    """The stream decoder of ``--input-format NAME`` (a name of ``STREAM_DECODER_NAMES``)."""
    for decoder_class in STREAM_DECODERS:
        if decoder_class.name == name:
            return decoder_class(options)
    raise ValueError(
        f"unknown stream format {name!r}: choose one of {', '.join(STREAM_DECODER_NAMES)}"
    )


__all__ = [
    "AUTO",
    "DECODERS",
    "DECODER_NAMES",
    "NAMED_DECODERS",
    "STREAM_DECODERS",
    "STREAM_DECODER_NAMES",
    "AutoDecoder",
    "FormatDecoder",
    "detect_stream",
    "make_decoder",
    "make_stream_decoder",
]
