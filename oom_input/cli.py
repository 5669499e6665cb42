"""Command line: ``oom-input [OPTIONS] [FILE ...]``."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from oom_input import __version__

if TYPE_CHECKING:
    from collections.abc import Callable

    from oom_input.diagnostics import Diagnostics
    from oom_input.pipeline import Pipeline
    from oom_input.progress import Progress
    from oom_input.summary import Summary
    from oom_input.types import DecodeOptions, OomRecord, Sink, StreamDecoder

EXIT_OK = 0  # end of input reached (malformed lines do not change this)
EXIT_INPUT_ERROR = 1  # an input file could not be opened or read (the others were still read)
EXIT_USAGE = 2  # bad options (argparse's own code)
EXIT_INTERRUPTED = 130  # Ctrl-C

# kept here, not imported from decoders/, so that --help and --version stay fast; a test checks
# them against the decoder registry
INPUT_FORMATS = (
    "auto",
    "kmsg",
    "dmesg",
    "journal",
    "syslog",
    "json",
    "journal-json",
    "msgpack",
    "journal-export",
)
OUTPUT_FORMATS = ("json", "msgpack", "forward")

# the dmesg example is a real shell line, kept whole
EPILOG = """\
examples:
  journalctl -k -o short-precise | oom-input
  dmesg | oom-input --boot-time "$(python3 -c 'import time; print(time.time() - time.clock_gettime(time.CLOCK_MONOTONIC))')"
  oom-input /var/log/kern.log.1 /var/log/kern.log
  oom-input --input-format kmsg --boot-time 1764182000.5 --host node-a records.kmsg

input formats (auto detects per line; msgpack and journal export from a file's first bytes):
  kmsg            raw /dev/kmsg records "PRI,SEQ,USEC,FLAGS;text" (+ dictionary lines)
  dmesg           dmesg [-r] [-x] [-T] [--time-format iso] output, with or without <PRI>
  journal         journalctl -k -o short|short-precise|short-iso|short-iso-precise|short-full|
                  short-monotonic|short-unix
  syslog          /var/log/messages, kern.log ("Dec  7 00:20:58 node1 kernel: ...")
  json            JSON lines: journalctl -o json/json-seq, Fluent Bit kmsg/systemd/exec records,
                  Vector events, objects with message/log/msg, [ts, {..}] arrays
  journal-json    journalctl -o json entries only
  msgpack         msgpack maps back to back, [time, map], Fluentd forward entries
  journal-export  journalctl -o export
  any other line is read as plain kernel text (journalctl -o cat, dmesg -t)

output: one record per OOM kill on stdout (schema: schemas/oom-record.schema.json), as JSON
lines, msgpack maps or forward-protocol entries; diagnostics go to stderr.

live: oom-input --kmsg --state-file /var/lib/oom-input/state    (or --journal)
tables: oom-input summary /var/log/kern.log*    (kernel logs or oom-input's own JSON)

exit codes: 0 end of input (live: stopped by SIGTERM/SIGINT; any mode: stdout closed by the
reader); 1 an input file, /dev/kmsg or journalctl could not be opened or read (other files are
still read); 2 usage error; 130 interrupted (offline).
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by tests to check command lines in configs)."""
    parser = argparse.ArgumentParser(
        prog="oom-input",
        description="Reassemble Linux kernel OOM-killer reports from kernel logs into one JSON "
        "record per killed process.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "files", nargs="*", metavar="FILE", help="input files, read in order (- or none: stdin)"
    )
    parser.add_argument(
        "-f",
        "--input-format",
        choices=INPUT_FORMATS,
        default="auto",
        help="input format (default: auto, detected per line)",
    )
    parser.add_argument(
        "--boot-time",
        type=float,
        metavar="EPOCH_SECONDS",
        help="when the kernel booted (Unix time, may have decimals): turns kernel timestamps into "
        "wall time for inputs that carry only those (kmsg, dmesg, short-monotonic); without it "
        "their time_of_death is null",
    )
    parser.add_argument("--host", metavar="NAME", help="host name for inputs that carry none")
    parser.add_argument(
        "--year",
        type=int,
        metavar="YYYY",
        help="year of syslog-style stamps that carry none (default: the current year, or the "
        "previous one for stamps that would lie in the future)",
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="IANA time zone (e.g. Europe/Berlin, UTC) of stamps that carry no zone (syslog, "
        "journalctl short, dmesg -T; default: the local zone)",
    )
    parser.add_argument(
        "-o",
        "--output-format",
        choices=OUTPUT_FORMATS,
        default="json",
        help="json: one object per line (default); msgpack: one map per record (Fluentd "
        "exec_filter <parse> @type msgpack); forward: [tag, EventTime, record] (forward protocol)",
    )
    parser.add_argument("--tag", default="oom", help="tag of forward output entries (default oom)")
    parser.add_argument(
        "--passthrough",
        action="store_true",
        help='also write every input record (re-encoded; text lines as {"message": line}), in '
        "order, each OOM record right after the line that completed it",
    )
    parser.add_argument(
        "--top-tasks",
        type=int,
        default=5,
        metavar="N",
        help="keep the N largest tasks of each report's task table by RSS in top_tasks "
        "(default 5; 0: none)",
    )
    live = parser.add_argument_group("live source (instead of FILEs)")
    live.add_argument(
        "--kmsg",
        nargs="?",
        const="/dev/kmsg",
        metavar="PATH",
        help="follow the kernel ring buffer (default PATH /dev/kmsg) until stopped; needs root "
        "or CAP_SYSLOG",
    )
    live.add_argument(
        "--journal",
        action="store_true",
        help="follow the systemd journal instead (runs journalctl -k -f -o json, no shell), for "
        "hosts where /dev/kmsg is not reachable",
    )
    live.add_argument(
        "--start",
        choices=("end", "begin"),
        default="end",
        help="where to start when no state file says where to resume: end (default, no replay "
        "of old kills) or begin (the whole buffer)",
    )
    live.add_argument(
        "--state-file",
        metavar="PATH",
        help="remember what was handled; a restart resumes right after it (same boot) or at the "
        "start of the new boot's buffer",
    )
    live.add_argument(
        "--idle-timeout",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="close a report that got no line for this long (default 0.5)",
    )
    offline = parser.add_argument_group("offline analysis")
    offline.add_argument(
        "--summary",
        action="store_true",
        help="at the end, print a table of the kills (by host, pod, container, process, kind) "
        "and kills per hour to stderr; `oom-input summary FILE...` prints only the table, on "
        "stdout, and also reads oom-input's own JSON output",
    )
    offline.add_argument(
        "--since",
        type=_time_bound,
        metavar="TIME",
        help="only records at or after TIME (RFC 3339, YYYY-MM-DD[ HH:MM[:SS]], @EPOCH, or "
        "relative: -2h, -30m, -1d, now); records whose time is unknown are kept",
    )
    offline.add_argument(
        "--until",
        type=_time_bound,
        metavar="TIME",
        help="only records at or before TIME (same forms as --since)",
    )
    offline.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="read FILEs in N processes at once (records still in FILE order; a report cannot "
        "then go on from one file into the next)",
    )
    from oom_input.events import add_event_arguments

    add_event_arguments(parser)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print each malformed line (rate-limited)"
    )
    parser.add_argument("-V", "--version", action="version", version=f"oom-input {__version__}")
    return parser


def _time_bound(text: str) -> int:
    """--since/--until (the parser lives in timefilter, imported only when used)."""
    from oom_input.timefilter import time_bound_argument

    return time_bound_argument(text)


def _zone(name: str | None, parser: argparse.ArgumentParser) -> tzinfo | None:
    if name is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        parser.error(f"unknown time zone {name!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["summary"]:
        return _summary_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    tz = _zone(args.timezone, parser)
    live = args.kmsg is not None or args.journal
    if live and args.files:
        parser.error("--kmsg and --journal read the kernel log themselves: give no FILE")
    if args.kmsg is not None and args.journal:
        parser.error("--kmsg and --journal exclude each other")
    if args.idle_timeout <= 0:
        parser.error("--idle-timeout must be > 0")
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    if args.top_tasks < 0:
        parser.error("--top-tasks must be >= 0")
    if args.jobs > 1 and (args.passthrough or live):
        parser.error(
            "--jobs reads FILEs offline; it cannot be combined with --passthrough or a live source"
        )

    # imported here so that --help and --version stay fast
    from oom_input.diagnostics import Diagnostics
    from oom_input.events import EventsConfigError, make_event_sink, tee
    from oom_input.progress import Progress, input_size
    from oom_input.summary import Summary
    from oom_input.timefilter import WindowFilter
    from oom_input.types import DecodeOptions

    diag = Diagnostics(verbose=args.verbose)
    options = DecodeOptions(year=args.year, tz=tz, report=diag.malformed)
    state_dir = (
        os.path.dirname(os.path.abspath(args.state_file)) if live and args.state_file else None
    )
    try:
        events = make_event_sink(args, diag.notice, state_dir)
    except EventsConfigError as exc:
        parser.error(str(exc))
    summary = (Summary(tz=tz) if tz else Summary()) if args.summary else None
    sink = tee(_make_sink(args), events)
    if summary is not None or args.since is not None or args.until is not None:
        try:
            sink = WindowFilter(
                sink, *([summary] if summary else []), since_us=args.since, until_us=args.until
            )
        except ValueError as exc:
            parser.error(str(exc))
    if live:
        try:
            return _follow(args, options, diag, sink)
        finally:
            _close(sink)
            diag.summary()

    files = args.files or ["-"]
    progress = Progress(sys.stderr, input_size(files))
    diag.before_notice = progress.clear
    try:
        if args.jobs > 1:
            status = _run_parallel(args, files, options.tz, sink, diag, progress)
        else:
            status = _run_files(args, files, options, sink, diag, progress)
    except BrokenPipeError:
        return _stdout_gone()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        progress.close()
        _close(sink)
        if summary is not None:
            sys.stderr.write(summary.render(shutil.get_terminal_size().columns) + "\n")
        diag.summary()
    return status


def _offline_pipeline(
    args: argparse.Namespace, options: DecodeOptions, sink: Sink, diag: Diagnostics, *extra: Any
) -> Pipeline:
    """The offline pipeline the options ask for (``extra``: more enrichers)."""
    from oom_input.assembler import Assembler
    from oom_input.decoders import make_decoder
    from oom_input.enrich import kubernetes_enricher
    from oom_input.pipeline import Pipeline, make_normaliser

    return Pipeline(
        decoder=make_decoder(_line_format(args.input_format), options),
        sink=sink,
        choose_stream=_stream_chooser(args.input_format, options),
        passthrough=args.passthrough,
        enrichers=(kubernetes_enricher, *extra),
        assembler=Assembler(on_notice=diag.notice_limited, top_tasks=args.top_tasks),
        normalise=make_normaliser(
            boot_time_us=None if args.boot_time is None else round(args.boot_time * 1_000_000),
            host=args.host,
        ),
        on_overlong=diag.overlong,
    )


def _run_files(
    args: argparse.Namespace,
    files: list[str],
    options: DecodeOptions,
    sink: Sink,
    diag: Diagnostics,
    progress: Progress,
) -> int:
    """All FILEs through one pipeline, in order (a report may go on in the next file)."""
    from oom_input.sources import read_chunks

    pipeline = _offline_pipeline(args, options, sink, diag, progress.kill)
    status = EXIT_OK
    for path in files:
        try:
            pipeline.run(read_chunks(path, on_read=progress.advance))
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            name = "stdin" if path == "-" else path
            diag.notice(f"cannot read {name}: {exc.strerror or exc}")
            status = EXIT_INPUT_ERROR
    pipeline.finish()
    return status


def _run_parallel(
    args: argparse.Namespace,
    files: list[str],
    tz: tzinfo | None,
    sink: Sink,
    diag: Diagnostics,
    progress: Progress,
) -> int:
    """--jobs N: each FILE in its own process; records written in FILE order."""
    from concurrent.futures import ProcessPoolExecutor

    from oom_input.types import OomRecord

    status = EXIT_OK
    with ProcessPoolExecutor(max_workers=min(args.jobs, len(files))) as pool:
        for path, (records, malformed, error, size) in zip(
            files, pool.map(_one_file, [args] * len(files), [tz] * len(files), files), strict=True
        ):
            progress.advance(size)
            for reason, n in malformed.items():
                diag.malformed_counts[reason] += n
            if error is not None:
                diag.notice(f"cannot read {path}: {error}")
                status = EXIT_INPUT_ERROR
            for fields in records:
                progress.kill()
                sink.write(OomRecord(**fields))
    return status


def _one_file(
    args: argparse.Namespace, tz: tzinfo | None, path: str
) -> tuple[list[dict[str, Any]], dict[str, int], str | None, int]:
    """One FILE in a worker process: its records, malformed counts, read error, bytes read."""
    from oom_input.diagnostics import Diagnostics
    from oom_input.sources import read_chunks
    from oom_input.types import DecodeOptions

    diag = Diagnostics(verbose=False)
    collected = _Collect()
    options = DecodeOptions(year=args.year, tz=tz, report=diag.malformed)
    pipeline = _offline_pipeline(args, options, collected, diag)
    size = 0
    error = None

    def count(n: int) -> None:
        nonlocal size
        size += n

    try:
        pipeline.run(read_chunks(path, on_read=count))
    except OSError as exc:
        error = exc.strerror or str(exc)
    pipeline.finish()
    return collected.records, dict(diag.malformed_counts), error, size


class _Collect:
    """A sink that keeps the records (a --jobs worker hands them back in one piece)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, record: OomRecord) -> None:
        self.records.append(record.as_dict())

    def close(self) -> None:
        pass


def _summary_main(argv: list[str]) -> int:
    """``oom-input summary FILE...``: the table of kills, read from kernel logs or from
    oom-input's own JSON output, on stdout."""
    parser = build_parser()
    parser.prog = "oom-input summary"
    parser.description = (
        "Summarise the OOM kills in kernel logs, or in oom-input's own JSON output, as a table "
        "on stdout."
    )
    args = parser.parse_args(argv)
    if args.kmsg is not None or args.journal:
        parser.error("summary reads FILEs (or stdin), not a live source")
    tz = _zone(args.timezone, parser)

    from oom_input.diagnostics import Diagnostics
    from oom_input.sources import read_chunks
    from oom_input.summary import Summary, is_record_stream, peek_head, summarize_jsonl
    from oom_input.timefilter import WindowFilter, record_in_window
    from oom_input.types import DecodeOptions

    diag = Diagnostics(verbose=args.verbose)
    summary = Summary(tz=tz) if tz else Summary()
    try:
        window = WindowFilter(summary, since_us=args.since, until_us=args.until)
    except ValueError as exc:
        parser.error(str(exc))
    options = DecodeOptions(year=args.year, tz=tz, report=diag.malformed)
    pipeline = _offline_pipeline(args, options, window, diag)
    status = EXIT_OK
    for path in args.files or ["-"]:
        try:
            head, chunks = peek_head(read_chunks(path))
            if is_record_stream(head):
                records = _InWindow(summary, args.since, args.until, record_in_window)
                summarize_jsonl(chunks, records)  # type: ignore[arg-type]
                if records.skipped:
                    diag.notice(f"{path}: {records.skipped} lines that are not OOM records skipped")
            else:
                pipeline.run(chunks)
        except OSError as exc:
            diag.notice(f"cannot read {'stdin' if path == '-' else path}: {exc.strerror or exc}")
            status = EXIT_INPUT_ERROR
    pipeline.finish()
    try:
        sys.stdout.write(summary.render(shutil.get_terminal_size().columns) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        return _stdout_gone()
    finally:
        diag.summary()
    return status


class _InWindow:
    """Hands records read from JSON to the summary when they fall in --since/--until."""

    def __init__(self, summary: Summary, since: int | None, until: int | None, test: Any) -> None:
        self.summary, self.since, self.until, self.test = summary, since, until, test
        self.skipped = 0

    def add(self, record: Any) -> None:
        if self.test(record, self.since, self.until):
            self.summary.add(record)


def _close(sink: Sink) -> None:
    """Flush the sinks (pending Events get their bounded wait); stdout may be gone by now."""
    with contextlib.suppress(BrokenPipeError):
        sink.close()


def _follow(args: argparse.Namespace, options: DecodeOptions, diag: Diagnostics, sink: Sink) -> int:
    """The live sources: follow /dev/kmsg or the journal until stopped."""
    from oom_input.assembler import Assembler
    from oom_input.enrich import kubernetes_enricher
    from oom_input.live import JournalFollower, KmsgFollower, LiveOptions, LiveSourceError

    def emit(record: OomRecord) -> None:
        kubernetes_enricher(record)
        sink.write(record)

    follower_class = JournalFollower if args.journal else KmsgFollower
    follower = follower_class(
        LiveOptions(
            path=args.kmsg or "/dev/kmsg",
            start=args.start,
            state_file=args.state_file,
            idle_timeout=args.idle_timeout,
            host=args.host,
        ),
        Assembler(on_notice=diag.notice_limited, top_tasks=args.top_tasks),
        emit,
        diag.notice,
        options,
    )
    follower.install_signal_handlers()
    try:
        follower.open()
        follower.run()
    except LiveSourceError as exc:
        diag.notice(str(exc))
        return EXIT_INPUT_ERROR
    except BrokenPipeError:
        return _stdout_gone()
    finally:
        follower.close()
    return EXIT_OK


def _make_sink(args: argparse.Namespace) -> Sink:
    out = sys.stdout.buffer
    if args.output_format == "msgpack":
        from oom_input.sinks.msgpack import MsgpackSink

        return MsgpackSink(out)
    if args.output_format == "forward":
        from oom_input.sinks.msgpack import ForwardSink

        return ForwardSink(out, tag=args.tag)
    from oom_input.sinks.jsonl import JsonLinesSink

    return JsonLinesSink(out)


def _line_format(input_format: str) -> str:
    """The line decoder for a file that turns out not to be a stream format."""
    from oom_input.decoders import STREAM_DECODER_NAMES

    return "auto" if input_format in STREAM_DECODER_NAMES else input_format


def _stream_chooser(
    input_format: str, options: DecodeOptions
) -> Callable[[bytes], StreamDecoder | None] | None:
    """Per file: the stream decoder to use, from the format named or the file's first bytes."""
    from oom_input.decoders import STREAM_DECODER_NAMES, detect_stream, make_stream_decoder

    if input_format in STREAM_DECODER_NAMES:
        return lambda head: make_stream_decoder(input_format, options)
    if input_format != "auto":
        return None

    def choose(head: bytes) -> StreamDecoder | None:
        name = detect_stream(head)
        return None if name is None else make_stream_decoder(name, options)

    return choose


def _stdout_gone() -> int:
    """Downstream closed our stdout: end quietly (like `head` closing a pipe), exit 0."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return EXIT_OK
