"""Input formats: one module per format, registered in ``oom_input.registry``.

``make_decoder(name, options)`` gives the decoder for ``--input-format NAME``:

- a line format name (``DECODER_NAMES``): that format only; a line it rejects is reported
  (``not a <name> line``) and still offered to the assembler as plain text, never dropped;
- ``"auto"``: an ``AutoDecoder``, which detects the format per line, so that a file may mix
  them (dmesg lines and continuation lines, two captures concatenated). It tries the format of
  the previous line first, then the detected formats in registry order, ``plain`` last. A
  reader decodes only the lines that can matter, so the detector may learn late that a format
  began (journalctl's output after a dmesg capture): while a format whose lines hold markers of
  their own (journalctl's boot separators) is unseen, it asks for a line every
  ``SAMPLE_BYTES`` (``sample_bytes``), and once it sees one, the reader looks back for its
  markers (``formats_learned``; see ``oom_input.scanner``).

Line formats that are JSON (``json``: journal entries and agents' records, one per line) are
detected per line too; ``journal-json`` is the same decoder restricted to the journal's own
entries, for ``--input-format journal-json`` only (auto reads those lines with ``json``).

Stream formats are not line-framed (``STREAM_DECODER_NAMES``: ``msgpack``, ``journal-export``):
``detect_stream(head)`` tells one from the first bytes of a stream by the magic bytes of its
registry entry (None: a line format), and ``make_stream_decoder(name, options)`` gives its
``oom_input.types.StreamDecoder``.

Adding a format: copy ``_template.py`` to ``<format>.py``, fill it in, and add one entry to
``oom_input.registry.LINE_FORMATS`` (or ``STREAM_FORMATS``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from oom_input.registry import LINE_FORMATS, STREAM_FORMATS, detect_stream, line_format
from oom_input.registry import stream_format as _stream_format
from oom_input.types import (
    IGNORED,
    DecodeOptions,
    Decoder,
    Ignored,
    KernelLine,
    KernelLines,
    QuickRun,
    QuickText,
    StreamDecoder,
)

if TYPE_CHECKING:
    from oom_input.decoders.plain import PlainDecoder

AUTO = "auto"
DECODER_NAMES: tuple[str, ...] = tuple(fmt.name for fmt in LINE_FORMATS)
STREAM_DECODER_NAMES: tuple[str, ...] = tuple(fmt.name for fmt in STREAM_FORMATS)
_PLAIN = "plain"
# while a format with markers of its own is unseen, a reader decodes a line at least this often
# (bytes) for the detector: ~400 lines per 100 MB, and at most this far (plus a line) into such
# a format's lines before the detector knows it (the reader then keeps twice as many bytes and
# a line for its look-back: less than sources.CHUNK_BYTES, so no more reads are held)
SAMPLE_BYTES = 256 * 1024


def decoder_class(name: str) -> type[Decoder]:
    """The class of line format ``name`` (imports its module)."""
    cls: type[Decoder] = line_format(name).load()
    return cls


class AutoDecoder:
    """Detects the format of each line: the previous line's format first, then all in order.

    Its ``extra_markers`` are those of the formats seen so far (every extra marker costs the
    reader one more pass over the input): a reader shows it a file's first line, and re-reads
    the attribute after each line it decoded. While a format with markers of its own is unseen,
    ``sample_bytes`` asks the reader for a line that often (0: no need), and
    ``formats_learned`` counts those seen: when it grows, the reader looks back for the new
    markers in the lines before, which the detector could not know to ask for."""

    name = AUTO

    def __init__(self, options: DecodeOptions) -> None:
        self._report = options.report
        self._reporting = True  # (not while a line is decoded again: see decode_again)
        options = dataclasses.replace(options, report=self._report_line)
        self._decoders: list[Decoder] = [
            fmt.load()(options) for fmt in LINE_FORMATS if fmt.detected and fmt.name != _PLAIN
        ]
        self._plain = _plain(options)
        self._last: Decoder | None = None  # decoder of the previous recognised line
        self.extra_markers: tuple[bytes, ...] = ()
        self._seen: dict[str, tuple[bytes, ...]] = {}  # the markers of each format seen
        self._unseen = {decoder.name for decoder in self._decoders if decoder.extra_markers}
        self.sample_bytes = SAMPLE_BYTES if self._unseen else 0
        self.formats_learned = 0

    def decode(self, raw: bytes) -> KernelLine | KernelLines | Ignored:
        """The line decoded by the first format that claims it, else as plain text."""
        last = self._last
        if last is not None:
            result = last.decode(raw)
            if result is not None:
                if last.extra_markers is not self._seen[last.name]:
                    self._learn(last)  # (a format's markers may grow as it reads: its notes)
                return result
        if _blank(raw):  # (claimed by no format: nor remembered as one, nor fed as text)
            return IGNORED
        for decoder in self._decoders:
            if decoder is not last:
                result = decoder.decode(raw)
                if result is not None:
                    self._last = decoder
                    if decoder.extra_markers is not self._seen.get(decoder.name):
                        self._learn(decoder)
                    return result
        # plain is not remembered: it claims every line and would shadow all other formats
        return self._plain.decode(raw)

    def decode_again(self, raw: bytes) -> KernelLine | KernelLines | Ignored:
        """``decode`` of the line decoded last, which its reports were made for then (a reader
        decodes the line that showed a format again once it looked back for its markers)."""
        self._reporting = False
        try:
            return self.decode(raw)
        finally:
            self._reporting = True

    def _report_line(self, reason: str, raw: bytes) -> None:
        if self._reporting:
            self._report(reason, raw)

    def _learn(self, decoder: Decoder) -> None:
        """Add the extra markers of a format seen (or grown since)."""
        if decoder.name in self._unseen:
            self._unseen.remove(decoder.name)
            self.formats_learned += 1
            self.sample_bytes = SAMPLE_BYTES if self._unseen else 0
        self._seen[decoder.name] = decoder.extra_markers
        if decoder.extra_markers:
            self.extra_markers = tuple(dict.fromkeys((*self.extra_markers, *decoder.extra_markers)))

    def continues(self, raw: bytes) -> bool:
        """The previous line's format's ``continues`` (a format without: False)."""
        test = getattr(self._last, "continues", None)
        return test is not None and bool(test(raw))

    def continuation(self, raw: bytes, head: bytes | None) -> KernelLine | Ignored:
        """The previous line's format's ``continuation``, else the line as plain text."""
        read = getattr(self._last, "continuation", None)
        result = None if read is None else read(raw, head)
        return self._plain.decode(raw) if result is None else result

    def quick_text(self, raw: bytes) -> QuickText | None:
        """The previous line's format's ``quick_text`` (a line it claims is that format's)."""
        quick = getattr(self._last, "quick_text", None)
        return None if quick is None else quick(raw)

    def quick_run(self, buf: bytes, pos: int, end: int, shape: bytes) -> QuickRun:
        """The previous line's format's ``quick_run`` (none: an empty run)."""
        run = getattr(self._last, "quick_run", None)
        if run is None:
            return [], pos, (None, None)
        return run(buf, pos, end, shape)  # type: ignore[no-any-return]


class FormatDecoder:
    """One named format; a line it rejects is reported and offered as plain text."""

    def __init__(
        self, decoder_class: type[Decoder], plain: PlainDecoder, options: DecodeOptions
    ) -> None:
        self._decoder = decoder_class(options)
        self.name = self._decoder.name
        self._plain = plain
        self._report = options.report
        self._reason = f"not a {self.name} line"
        # the format's own (a line it rejects gives None), or None when it has none
        self.quick_text: Callable[[bytes], QuickText | None] | None = getattr(
            self._decoder, "quick_text", None
        )
        self.quick_run: Callable[[bytes, int, int, bytes], QuickRun] | None = getattr(
            self._decoder, "quick_run", None
        )
        self.continues: Callable[[bytes], bool] | None = getattr(self._decoder, "continues", None)
        # (the lines it rejects are plain lines, of the one source too)
        self.one_source: bool = getattr(self._decoder, "one_source", False) and plain.one_source

    @property
    def extra_markers(self) -> tuple[bytes, ...]:
        """The format's (they may grow as it reads)."""
        return self._decoder.extra_markers

    def decode(self, raw: bytes) -> KernelLine | KernelLines | Ignored:
        """The line in this format, else reported and taken as plain text."""
        result = self._decoder.decode(raw)
        return result if result is not None else self._or_plain(result, raw)

    def continuation(self, raw: bytes, head: bytes | None) -> KernelLine | Ignored:
        """The format's reading of a continuation line of ``head``, else as ``decode``."""
        read = getattr(self._decoder, "continuation", None)
        return self._or_plain(None if read is None else read(raw, head), raw)

    def _or_plain(self, result: KernelLine | Ignored | None, raw: bytes) -> KernelLine | Ignored:
        if result is None:
            if _blank(raw):
                return IGNORED
            self._report(self._reason, raw)
            return self._plain.decode(raw)
        return result


def _blank(raw: bytes) -> bool:
    """A line of whitespace alone: no format's, no message (a file's or a pipe's blank line)."""
    return not raw or raw.isspace()


def _plain(options: DecodeOptions) -> PlainDecoder:
    """The decoder of last resort: every line as plain text."""
    plain: PlainDecoder = line_format(_PLAIN).load()(options)
    return plain


def make_decoder(name: str, options: DecodeOptions) -> Decoder:
    """The decoder for ``--input-format NAME``: a name of ``DECODER_NAMES`` or ``"auto"``."""
    if name == AUTO:
        return AutoDecoder(options)
    try:
        cls = decoder_class(name)
    except ValueError:
        choices = ", ".join((AUTO, *DECODER_NAMES))
        raise ValueError(f"unknown input format {name!r}: choose one of {choices}") from None
    plain = _plain(options)
    if name == _PLAIN:  # rejects nothing: no fallback needed
        return plain
    return FormatDecoder(cls, plain, options)


def make_stream_decoder(name: str, options: DecodeOptions) -> StreamDecoder:
    """The stream decoder of ``--input-format NAME`` (a name of ``STREAM_DECODER_NAMES``)."""
    cls: type[StreamDecoder] = _stream_format(name).load()
    return cls(options)


__all__ = [
    "AUTO",
    "DECODER_NAMES",
    "SAMPLE_BYTES",
    "STREAM_DECODER_NAMES",
    "AutoDecoder",
    "FormatDecoder",
    "decoder_class",
    "detect_stream",
    "make_decoder",
    "make_stream_decoder",
]
