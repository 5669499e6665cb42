"""Command line: ``oom-input [OPTIONS] [FILE ...]``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from oom_input import __version__
from oom_input.registry import LINE_FORMATS, STREAM_FORMATS, format_help
from oom_input.registry import OUTPUT_FORMATS as OUTPUT_FORMATS_REGISTERED

if TYPE_CHECKING:
    from collections.abc import Callable

    from oom_input.diagnostics import Diagnostics
    from oom_input.pipeline import Pipeline
    from oom_input.progress import Progress
    from oom_input.summary import Summary
    from oom_input.types import DecodeOptions, Decoder, OomRecord, Sink, StreamDecoder

EXIT_OK = 0  # end of input reached (malformed lines do not change this)
EXIT_INPUT_ERROR = 1  # an input file could not be opened or read (the others were still read)
EXIT_USAGE = 2  # bad options (argparse's own code)
EXIT_OUTPUT_ERROR = 3  # stdout closed at start, or a write to it failed (full disk, I/O error)
EXIT_INTERRUPTED = 130  # Ctrl-C

INPUT_FORMATS = ("auto", *(fmt.name for fmt in LINE_FORMATS + STREAM_FORMATS))
OUTPUT_FORMATS = tuple(fmt.name for fmt in OUTPUT_FORMATS_REGISTERED)

_STREAM_NAMES = ", ".join(fmt.name for fmt in STREAM_FORMATS)
# the dmesg example is a real shell line, kept whole
EPILOG = f"""\
examples:
  journalctl -k -o short-precise | oom-input
  dmesg | oom-input --boot-time "$(python3 -c 'import time; print(time.time() - time.clock_gettime(time.CLOCK_MONOTONIC))')"
  oom-input /var/log/kern.log.1 /var/log/kern.log
  oom-input --input-format kmsg --boot-time 1764182000.5 --host node-a records.kmsg

input formats (auto: per line; {_STREAM_NAMES} by a file's first bytes):
{format_help(LINE_FORMATS)}
{format_help(STREAM_FORMATS)}

output: one record per OOM kill on stdout (schema: schemas/oom-record.schema.json), as JSON
lines, msgpack maps or forward-protocol entries; diagnostics go to stderr.

live: oom-input --kmsg --state-file /var/lib/oom-input/state    (or --journal)
tables: oom-input summary /var/log/kern.log*    (kernel logs or oom-input's own JSON)

exit codes: 0 end of input (live: stopped by SIGTERM/SIGINT; any mode: stdout closed by the
reader); 1 an input file, /dev/kmsg, journalctl or the state file could not be opened or read
(other files are still read); 2 usage error; 3 stdout closed at start or cannot be written (e.g.
full disk); 130 interrupted (offline).
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used by tests to check command lines in configs)."""
    parser = argparse.ArgumentParser(
        prog="oom-input",
        description="Reassemble Linux kernel OOM-killer reports from kernel logs into one JSON "
        "record per killed process.",
        epilog=EPILOG,
        formatter_class=_metavar_checker,
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
        default=OUTPUT_FORMATS[0],
        help="; ".join(f"{fmt.name}: {fmt.summary}" for fmt in OUTPUT_FORMATS_REGISTERED),
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
        help="follow the kernel ring buffer (default PATH /dev/kmsg; PATH must be that character "
        "device: a file of kmsg records is a FILE) until stopped; needs root or CAP_SYSLOG",
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
    from oom_input.events.options import add_event_arguments
    from oom_input.pods.options import add_pod_metadata_arguments

    add_event_arguments(parser)

    add_pod_metadata_arguments(parser)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="print each malformed line (rate-limited)"
    )
    parser.add_argument("-V", "--version", action="version", version=f"oom-input {__version__}")
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # help, usage, errors
    return parser


def _metavar_checker(prog: str) -> argparse.HelpFormatter:
    """The formatter argparse makes for each option added, only to check its metavar: with a
    width given it does not ask the terminal for one (that imports shutil, which imports bz2
    and lzma: ~2 ms of every start-up). Help is formatted by the parser's final formatter."""
    return argparse.RawDescriptionHelpFormatter(prog, width=80)


def _terminal_columns() -> int:
    """The terminal's width for the --summary table (shutil is imported only here, see
    ``_metavar_checker``)."""
    import shutil

    return shutil.get_terminal_size().columns


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
    argv = _join_dash_values(list(sys.argv[1:] if argv is None else argv))
    if not _stdout_is_open():
        sys.stderr.write("oom-input: stdout is closed: there is nowhere to write records\n")
        return EXIT_OUTPUT_ERROR
    if argv[:1] == ["summary"]:
        return _summary_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    tz = _zone(args.timezone, parser)
    live = args.kmsg is not None or args.journal
    check_options(args, parser, "live" if live else "offline")

    # imported here so that --help and --version stay fast
    from oom_input.diagnostics import Diagnostics
    from oom_input.progress import Progress, input_size
    from oom_input.types import DecodeOptions

    diag = Diagnostics(verbose=args.verbose)
    options = DecodeOptions(year=args.year, tz=tz, report=diag.malformed)
    state_dir = (
        os.path.dirname(os.path.abspath(args.state_file)) if live and args.state_file else None
    )
    # pod metadata: every record (stdout, Events, --summary) goes through the enricher first
    from oom_input.pods.options import EnrichingSink, make_pod_enricher

    try:
        pod_enricher, pod_index = make_pod_enricher(args, diag.notice, live=live)
    except ValueError as exc:
        parser.error(str(exc))
    stdout = StdoutSink(_make_sink(args))
    sink: Sink = stdout
    if args.events or args.events_dry_run:  # (the Events code is imported only then)
        from oom_input.events.config import EventsConfigError
        from oom_input.events.sink import make_event_sink, tee

        try:
            events = make_event_sink(args, diag.notice, state_dir, pod_index)
        except (EventsConfigError, ValueError) as exc:
            parser.error(str(exc))
        sink = tee(stdout, events)
    summary: Summary | None = None
    if args.summary:
        from oom_input.summary import Summary

        summary = Summary(tz=tz) if tz else Summary()
    if summary is not None or args.since is not None or args.until is not None:
        from oom_input.timefilter import WindowFilter

        try:
            sink = WindowFilter(
                sink, *([summary] if summary else []), since_us=args.since, until_us=args.until
            )
        except ValueError as exc:
            parser.error(str(exc))
    sink = EnrichingSink(sink, pod_enricher)
    if live:
        try:
            status = _follow(args, options, diag, sink)
        except OutputError as exc:
            status = _output_failed(exc, diag, live=True)
        return _finish(sink, summary, diag, status, live=True)

    files = args.files or ["-"]
    progress = Progress(sys.stderr, input_size(files))
    diag.before_notice = progress.clear
    if progress.enabled and _is_terminal(sys.stdout):
        stdout.before_write = progress.clear  # records and the status line share the terminal
    try:
        if args.jobs > 1:
            status = _run_parallel(args, files, options.tz, sink, diag, progress)
        else:
            status = _run_files(args, files, options, sink, diag, progress)
    except OutputError as exc:
        progress.close()
        status = _output_failed(exc, diag, live=False)
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    finally:
        progress.close()
    return _finish(sink, summary, diag, status, live=False)


def _finish(
    sink: Sink, summary: Summary | None, diag: Diagnostics, status: int, *, live: bool
) -> int:
    """Flush the sinks (pending Events get their bounded wait), print the summary table and the
    diagnostics summary; the exit code, made 3 if stdout failed only now."""
    try:
        sink.close()
    except OutputError as exc:
        code = _output_failed(exc, diag, live=live)
        status = status if status != EXIT_OK else code
    if summary is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(summary.render(_terminal_columns()) + "\n")
    diag.summary()
    return status


# --- option checks: every value checked at start (exit 2), every option valid in the mode ---
# the wall-clock range a record's time_of_death can be written in (RFC 3339, 4-digit year)
MIN_YEAR, MAX_YEAR = 1970, 9999
MAX_EPOCH_S = 253402300799  # 9999-12-31T23:59:59Z
MAX_IDLE_TIMEOUT_S = 86400.0
# options that take a value which may start with "-" (relative times: --since -2h)
DASH_VALUE_OPTIONS = ("--since", "--until")
LIVE_ONLY = (
    ("state_file", "--state-file"),
    ("start", "--start"),
    ("idle_timeout", "--idle-timeout"),
)
# -f values each live source can read (it knows its own format)
LIVE_FORMATS = {"kmsg": ("auto", "kmsg"), "journal": ("auto", "json", "journal-json")}


def _join_dash_values(argv: list[str]) -> list[str]:
    """``--since -2h`` as ``--since=-2h``: argparse would take ``-2h`` for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return out + argv[i:]
        if arg in DASH_VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1][:1] == "-":
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def check_options(args: argparse.Namespace, parser: argparse.ArgumentParser, mode: str) -> None:
    """Refuse (exit 2) a value out of range or an option the mode cannot honour."""
    import math

    for action in parser._actions:  # argparse has no public list of its options
        value = getattr(args, action.dest, None)
        if action.type is float and value is not None and not math.isfinite(value):
            parser.error(f"{action.option_strings[-1]}: {value} is not a finite number")
    if getattr(args, "top_tasks", 0) < 0:
        parser.error("--top-tasks must be >= 0")
    if args.boot_time is not None and not 0 <= args.boot_time <= MAX_EPOCH_S:
        parser.error(
            f"--boot-time {args.boot_time}: must be seconds since 1970 before the year 10000"
        )
    if args.year is not None and not MIN_YEAR <= args.year <= MAX_YEAR:
        parser.error(f"--year {args.year}: must be {MIN_YEAR}-{MAX_YEAR}")
    if args.idle_timeout is not None and not 0 < args.idle_timeout <= MAX_IDLE_TIMEOUT_S:
        parser.error(f"--idle-timeout must be > 0 and <= {MAX_IDLE_TIMEOUT_S:.0f}")
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    if args.kmsg is not None and args.journal:
        parser.error("--kmsg and --journal exclude each other")
    if args.tag != parser.get_default("tag") and args.output_format != "forward":
        parser.error("--tag names forward output entries: it needs -o forward")
    if mode != "summary" and not (args.events or args.events_dry_run):
        events_only = _event_dests() - {"events", "events_dry_run"} - _shared_with_pods(args)
        given = [
            action.option_strings[-1]
            for action in parser._actions
            if action.dest in events_only and getattr(args, action.dest) != action.default
        ]
        if given:
            parser.error(f"{', '.join(given)}: only with --events or --events-dry-run")
    if mode == "live":
        if args.files:
            parser.error("--kmsg and --journal read the kernel log themselves: give no FILE")
        source = "journal" if args.journal else "kmsg"
        if args.input_format not in LIVE_FORMATS[source]:
            parser.error(
                f"--{source} reads {LIVE_FORMATS[source][-1]}: -f {args.input_format} "
                "cannot be used with it"
            )
        if args.jobs > 1:
            parser.error("--jobs reads FILEs offline; it cannot be combined with a live source")
        return
    for dest, option in LIVE_ONLY:
        if getattr(args, dest) is not None:
            parser.error(f"{option} is for the live sources (--kmsg, --journal) only")
    if args.jobs > 1 and args.passthrough:
        parser.error("--jobs cannot be combined with --passthrough")
    if mode == "summary":
        defaults = {action.dest: action.default for action in parser._actions}
        refusable = set(_SUMMARY_REFUSED) | _event_dests()
        refused = [
            action.option_strings[-1]
            for action in parser._actions
            if action.dest in refusable and getattr(args, action.dest) != defaults[action.dest]
        ]
        if refused:
            parser.error(
                f"summary prints a table on stdout: {', '.join(refused)} cannot be used with it"
            )


# summary writes only the table: options about records on stdout, Events or parallel reading
# have nothing to act on
_SUMMARY_REFUSED = ("output_format", "tag", "passthrough", "jobs", "kmsg", "journal")


def _shared_with_pods(args: argparse.Namespace) -> set[str]:
    """Events options the pod metadata uses too: the node's name (the records'
    ``kubernetes.host``) always, the API connection with --k8s-metadata."""
    if getattr(args, "k8s_metadata", False):
        return {"node_name", "kubeconfig", "service_account_dir", "events_timeout"}
    return {"node_name"}


def _event_dests() -> set[str]:
    from oom_input.events.options import add_event_arguments

    probe = argparse.ArgumentParser(add_help=False)
    add_event_arguments(probe)
    return {action.dest for action in probe._actions}


# --- stdout: its errors are named as stdout's, in every mode ---------------------------------
class OutputError(Exception):
    """Writing records to stdout failed (never reported as an input's error)."""

    def __init__(self, exc: OSError) -> None:
        self.broken_pipe = isinstance(exc, BrokenPipeError)
        super().__init__(f"cannot write to stdout: {exc.strerror or exc}")


class StdoutSink:
    """The stdout sink, its write errors raised as OutputError; ``before_write`` (e.g. erasing
    a progress line on the same terminal) runs before each write."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self.before_write: Callable[[], None] | None = None

    def write(self, record: OomRecord) -> None:
        if self.before_write is not None:
            self.before_write()
        try:
            self._sink.write(record)
        except OSError as exc:
            raise OutputError(exc) from exc

    def write_object(self, obj: object) -> None:
        if self.before_write is not None:
            self.before_write()
        try:
            self._sink.write_object(obj)
        except OSError as exc:
            raise OutputError(exc) from exc

    def close(self) -> None:
        try:
            self._sink.close()
        except OSError as exc:
            raise OutputError(exc) from exc


def _stdout_is_open() -> bool:
    try:
        os.fstat(1)
    except OSError:
        return False
    return sys.stdout is not None


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def _output_failed(exc: OutputError, diag: Diagnostics, *, live: bool) -> int:
    """stdout failed: a reader that went away ends us quietly (exit 0; live says so, since
    a pipeline agent died), any other failure is named (exit 3)."""
    _stdout_to_devnull()
    if exc.broken_pipe:
        if live:
            diag.notice(
                "stdout closed by the reader: stopping (the state file has what was written)"
            )
        return EXIT_OK
    diag.notice(str(exc))
    return EXIT_OUTPUT_ERROR


def _pipeline(
    args: argparse.Namespace,
    options: DecodeOptions,
    sink: Sink,
    diag: Diagnostics,
    *extra: Any,
    decoder: Decoder | None = None,
) -> Pipeline:
    """The pipeline the options ask for (``extra``: more enrichers; ``decoder``: a live
    source's, which knows its format)."""
    from oom_input.assembler import Assembler
    from oom_input.decoders import make_decoder
    from oom_input.enrich import kubernetes_enricher
    from oom_input.pipeline import Pipeline, make_normaliser

    return Pipeline(
        decoder=decoder or make_decoder(_line_format(args.input_format), options),
        sink=sink,
        choose_stream=None if decoder else _stream_chooser(args.input_format, options),
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

    def count(record: OomRecord) -> OomRecord:  # an enricher that only counts kills
        progress.count_kill()
        return record

    pipeline = _pipeline(args, options, sink, diag, count)
    status = EXIT_OK
    for path in files:
        try:
            pipeline.run(read_chunks(path, on_read=progress.advance))
        except OSError as exc:  # (stdout's errors are OutputError)
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
                progress.count_kill()
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
    pipeline = _pipeline(args, options, collected, diag)
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

    def write_object(self, obj: Any) -> None:
        """Never called: --jobs refuses --passthrough."""

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
    check_options(args, parser, "summary")

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
    from oom_input.pods.options import EnrichingSink, make_pod_enricher

    try:
        pod_enricher, _ = make_pod_enricher(args, diag.notice, live=False)
    except ValueError as exc:
        parser.error(str(exc))
    pipeline = _pipeline(args, options, EnrichingSink(window, pod_enricher), diag)
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
        sys.stdout.write(summary.render(_terminal_columns()) + "\n")
        sys.stdout.flush()
    except OSError as exc:
        status = _output_failed(OutputError(exc), diag, live=False)
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


def _follow(args: argparse.Namespace, options: DecodeOptions, diag: Diagnostics, sink: Sink) -> int:
    """The live sources: follow /dev/kmsg or the journal until stopped, through the same
    pipeline as FILEs (per line, with a flush when the source goes idle)."""
    from oom_input.live import (
        JournalFollower,
        KmsgFollower,
        LiveOptions,
        LiveSourceError,
        StateFileError,
    )

    follower_class = JournalFollower if args.journal else KmsgFollower
    follower = follower_class(
        LiveOptions(
            path=args.kmsg or "/dev/kmsg",
            start=args.start or "end",
            state_file=args.state_file,
            idle_timeout=0.5 if args.idle_timeout is None else args.idle_timeout,
            host=args.host,
            boot_time_us=None if args.boot_time is None else round(args.boot_time * 1_000_000),
        ),
        diag.notice,
        options,
    )
    pipeline = _pipeline(args, options, sink, diag, decoder=follower.decoder)
    follower.install_signal_handlers()
    try:
        follower.open()
        follower.run(pipeline)
    except (LiveSourceError, StateFileError) as exc:
        diag.notice(str(exc))
        return EXIT_INPUT_ERROR
    finally:
        follower.report_counts()
        follower.close()
    return EXIT_OK


def _make_sink(args: argparse.Namespace) -> Sink:
    from oom_input.registry import output_format
    from oom_input.types import OutputOptions

    sink: Sink = (
        output_format(args.output_format)
        .load()
        .from_options(sys.stdout.buffer, OutputOptions(tag=args.tag))
    )
    return sink


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


def _stdout_to_devnull() -> None:
    """stdout failed: point it at /dev/null, so that the interpreter's last flush at exit
    cannot fail again (and print a traceback)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
    except OSError:
        pass
