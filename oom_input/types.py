"""The contract between the pipeline stages, written down once.

sources (bytes) -> decoders (``KernelLine``) -> assembler (``OomRecord``) -> enrichers -> sinks
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import tzinfo
from typing import Any, ClassVar, Final, Protocol

# Reports are assembled per stream source, so that several nodes interleaved in one stream
# never mix: (host, boot id), either part None when the input does not carry it.
SourceKey = tuple["str | None", "str | None"]


@dataclass(slots=True)
class KernelLine:
    """One kernel log message, whatever format it arrived in."""

    text: str
    kernel_us: int | None = None  # printk timestamp: microseconds since boot
    wall_us: int | None = None  # wall-clock time: microseconds since the Unix epoch
    host: str | None = None
    boot_id: str | None = None
    seq: int | None = None  # /dev/kmsg sequence number
    # a pr_cont fragment that continues the previous line of its source; None: the format
    # does not say (only /dev/kmsg records carry the flag)
    cont: bool | None = None
    source_format: str = "plain"


class Ignored:
    """Decoder verdict: the line is in the decoder's format but is not a kernel message (one
    instance, ``IGNORED``)."""

    _instance: ClassVar[Ignored | None] = None

    def __new__(cls) -> Ignored:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "IGNORED"


IGNORED: Final = Ignored()


class KernelLines(tuple[KernelLine, ...]):
    """Decoder verdict: the kernel lines one input line holds, in order, two or more (an agent's
    array of events; a record whose text a multiline parser merged from several log lines).
    Readers feed each as a line of its own."""

    __slots__ = ()


def _no_report(reason: str, raw: bytes) -> None:
    return None


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """Settings every decoder receives."""

    year: int | None = None  # year for stamps that carry none (syslog, journalctl short)
    tz: tzinfo | None = None  # zone for stamps that carry none; None = the local zone
    # called as report(reason, raw_line) for a line that is damaged (bad UTF-8, broken prefix)
    report: Callable[[str, bytes], None] = _no_report


# what a decoder's optional ``quick_text(raw)`` gives: the text and (host, boot id) that
# ``decode(raw)`` would give the line (before normalising), for readers that need no more
QuickText = tuple[str, SourceKey]
# what a decoder's optional ``quick_run`` gives: the groups of ``shape`` of each line, where the
# run ends (after its last newline) and the lines' source key
QuickRun = tuple[list[Any], int, SourceKey]


class Decoder(Protocol):
    """One input format. A new format is one new module with one class of this shape."""

    def __init__(self, options: DecodeOptions) -> None: ...

    @property
    def name(self) -> str:
        """The format's name (``--input-format NAME``, the records' ``source_format``)."""
        ...

    @property
    def extra_markers(self) -> tuple[bytes, ...]:
        """Byte strings that, besides the assembler's markers, make a line worth decoding (e.g.
        a JSON byte-array MESSAGE in which the marker text cannot be seen); a reader re-reads
        it after each line it decoded, since auto-detection adds a format's markers once seen.
        A class variable in most decoders."""
        ...

    def decode(self, raw: bytes) -> KernelLine | KernelLines | Ignored | None:
        """Decode one line (without its newline): a kernel line, IGNORED (the decoder's format
        but not a kernel message: another program's syslog line, a /dev/kmsg dictionary line),
        None (not this format), or ``KernelLines`` when the line holds several. A decoder may
        also have ``quick_text(raw) -> QuickText | None``: the same line's text and source when
        that is cheap to tell and decoding would report nothing, else None (the line must be
        decoded: a line of several kernel lines is); readers use it, when present, for lines
        whose text is all that can matter. And ``quick_run(buf, pos, end, shape) -> QuickRun``:
        the consecutive lines from ``buf[pos]`` (up to ``end``) whose decoded text fully
        matches bytes pattern ``shape``, as ``quick_text`` would give them. A text format that
        prints a multi-line record as indented continuation lines has ``continues(raw) -> bool``
        and ``continuation(raw, head) -> KernelLine | Ignored | None``: the line read with
        ``head``, the nearest line before it that does not continue (None: none); readers
        decode such lines with it instead of ``decode``. ``one_source`` True: the format names
        no host or boot id, so every line is of one source (readers then look for a report's
        CONTEXT lines from its header on)."""
        ...


class StreamDecoder(Protocol):
    """An input format that is not one record per line (msgpack streams, journal export):
    it gets raw bytes and returns the kernel lines they completed, in input order."""

    name: ClassVar[str]
    # --passthrough: when set, called with each input record and its kernel lines (none, one, or
    # several: a record a multiline parser merged), in input order, and feed()/finish() return
    # no lines
    passthrough: Callable[[Any, list[KernelLine]], None] | None
    # when set, called with each kernel line at once (feed()/finish() return none), so that
    # ``every_record`` sees the state the lines before made
    on_line: Callable[[KernelLine], None] | None
    # a decoder that leaves out records holding no report marker decodes every record while
    # this says so (the assembler needs every line: a pr_cont fragment or an evidence block)
    every_record: Callable[[], bool]

    def __init__(self, options: DecodeOptions) -> None: ...

    def feed(self, data: bytes) -> list[KernelLine]:
        """Take the next bytes (any split); return the kernel lines completed by them. A
        decoder may leave out records that hold no report marker (they cannot matter to the
        assembler), except with ``passthrough`` set or while ``every_record()``."""
        ...

    def finish(self) -> list[KernelLine]:
        """End of input: return what a last, unterminated record still gives."""
        ...


@dataclass(slots=True)
class OomRecord:
    """One OOM kill: the published record (schemas/oom-record.schema.json), key for key."""

    event: str = "oom_kill"
    time_of_death: str | None = None
    kernel_time_us: int | None = None
    host: str | None = None
    boot_id: str | None = None
    pid: int | None = None
    process_name: str | None = None
    container_name: str | None = None
    victim_container_name: str | None = None
    constraint: str | None = None
    kind: str = "unknown"
    uid: int | None = None
    oom_score_adj: int | None = None
    total_vm_kb: int | None = None
    anon_rss_kb: int | None = None
    file_rss_kb: int | None = None
    shmem_rss_kb: int | None = None
    pgtables_kb: int | None = None
    trigger_process_name: str | None = None
    trigger_pid: int | None = None
    gfp_mask: str | None = None
    order: int | None = None
    memory_usage_kb: int | None = None
    memory_limit_kb: int | None = None
    memory_failcnt: int | None = None
    pod_uid: str | None = None
    container_id: str | None = None
    qos_class: str | None = None
    container_runtime: str | None = None
    complete: bool = False
    seq_first: int | None = None
    seq_last: int | None = None
    source_format: str | None = None
    # the report's own evidence of why (oom_input/evidence.py); null when the report lacks the
    # lines (rate-limited, truncated)
    task_count: int | None = None
    tasks_rss_kb: int | None = None
    top_tasks: list[dict[str, Any]] | None = None
    memcg_stats: dict[str, int] | None = None
    swap_usage_kb: int | None = None
    swap_limit_kb: int | None = None
    kmem_usage_kb: int | None = None
    system_memory: dict[str, int | None] | None = None
    reason: str | None = None
    # oom_input.identity.record_id of the final fields (the assembler sets it when it closes
    # the report; a record made elsewhere gets it from the fields it was made with)
    id: str = ""
    # who was killed in Kubernetes words (Fluent Bit / Fluentd key names: namespace_name,
    # pod_name, pod_id, container_name, docker_id, container_image, host, labels, owner);
    # None when the pod is not known. Built fresh per record by the pod metadata enricher.
    kubernetes: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.id:
            from oom_input.identity import record_id

            self.id = record_id(self)

    def as_dict(self) -> dict[str, Any]:
        return dict(zip(RECORD_FIELDS, _record_values(self), strict=False))  # (same length)


RECORD_FIELDS: Final = tuple(f.name for f in fields(OomRecord))
_record_values = operator.attrgetter(*RECORD_FIELDS)


def _copy_code() -> Callable[[OomRecord, OomRecord], OomRecord]:
    """``copy(record, new)``: each field of ``record`` set in ``new`` (an ``OomRecord`` not yet
    initialised), one instruction per field, as dataclasses writes its ``__init__``: a third of
    what ``OomRecord(*_record_values(record))`` costs (``attrgetter`` looks each name up, then
    ``__init__`` takes 45 arguments), and a record is copied once per enricher."""
    lines = "".join(f"\n    new.{name} = record.{name}" for name in RECORD_FIELDS)
    namespace: dict[str, Any] = {}
    exec(f"def copy(record, new):{lines}\n    return new", namespace)
    copy: Callable[[OomRecord, OomRecord], OomRecord] = namespace["copy"]
    return copy


_copy_fields = _copy_code()


def changed(record: OomRecord, **changes: Any) -> OomRecord:
    """A copy of ``record`` with ``changes`` (``dataclasses.replace`` without its per-field
    Python loop, and ``__init__``'s checks: the copy's fields are the record's; as
    ``__init__``, an empty id is the copy's own, before ``changes``)."""
    new: OomRecord = _copy_fields(record, object.__new__(OomRecord))
    if not new.id:
        new.__post_init__()
    for name, value in changes.items():
        setattr(new, name, value)
    return new


# An enricher returns the record to pass on; it never changes its argument (records are values),
# it returns a changed copy (dataclasses.replace) or the record itself.
Enricher = Callable[[OomRecord], OomRecord]


class RecordSink(Protocol):
    """Where finished records go (a summary, the Events poster)."""

    def write(self, record: OomRecord) -> None: ...

    def close(self) -> None: ...


class Sink(RecordSink, Protocol):
    """An output: records, and with --passthrough every input record as well, in order. An
    output format is one class of this shape, registered in ``oom_input.registry``."""

    def write_object(self, obj: Any) -> None:
        """Write one input record (a JSON value, a msgpack map) re-encoded in this format."""
        ...


@dataclass(frozen=True, slots=True)
class OutputOptions:
    """Settings every output format receives (``from_options(stream, options)``)."""

    tag: str = "oom"  # tag of forward-protocol entries


__all__ = [
    "IGNORED",
    "RECORD_FIELDS",
    "DecodeOptions",
    "Decoder",
    "Enricher",
    "Ignored",
    "KernelLine",
    "KernelLines",
    "OomRecord",
    "OutputOptions",
    "QuickRun",
    "QuickText",
    "RecordSink",
    "Sink",
    "SourceKey",
    "StreamDecoder",
    "changed",
]
