"""The JSON decoders' ``quick_text``: the text and source ``decode`` gives a record, never
another, and the scanner's records and reports with it are those of decoding every line."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_scanner import run_decoder

from convert import (
    FORMAT_NAMES,
    LINE_FORMATS,
    Source,
    control_names,
    odd_names,
    read_kmsg,
)
from oom_input.decoders import AutoDecoder, make_decoder
from oom_input.types import DecodeOptions, KernelLine, KernelLines

REAL = Path(__file__).parent / "data" / "real"
# every raw /dev/kmsg capture in tests/data, as it is and with odd bytes in the victim's name
CAPTURES = [p.read_bytes() for p in sorted(REAL.parent.glob("*/*.kmsg"))]
VARIANTS = [variant(data) for data in CAPTURES for variant in (bytes, odd_names, control_names)]
JSON_FORMATS = sorted(name for name in LINE_FORMATS if "json" in FORMAT_NAMES[name])
# renderings whose text is a plain line ("log" of a generic object, Vector's log namespace's
# bare MESSAGE): the line decoders guess its format, no quick path answers
PLAIN_TEXT_FORMATS = ("json-generic", "json-vector-journald-log-namespace")
SOURCES = [
    Source(host=f"node-{n}", boot_hex=f"{n:x}" * 32, boot_us=(1764180000 + 1000 * n) * 10**6)
    for n in range(3)
]


def _kmsg_record(msg: str, **fields: object) -> bytes:
    """A Fluent Bit kmsg record (``msg`` as /dev/kmsg escapes it)."""
    return orjson.dumps(
        {"priority": 6, "sequence": 9, "sec": 7000, "usec": 1, "msg": msg, **fields}
    )


# lines quick_text must hand back to decode (damaged, reported, IGNORED, not JSON) and lines it
# may take; texts shaped like memcg statistics ("name value"), so that they matter inside blocks
DAMAGED_LINES = [
    b'{"MESSAGE":"odd_broken 1","_TRANSPORT":"kernel"',  # invalid JSON
    b'{"MESSAGE":[111,100,100,95,98,97,100,32,255,50],"_TRANSPORT":"kernel"}',  # not UTF-8
    b'{"MESSAGE":"odd_host 3","_TRANSPORT":"kernel","_HOSTNAME":[110,255]}',  # host not UTF-8
    _kmsg_record("odd_bad_kmsg \\xff4", host="node-1"),  # escaped byte that is not UTF-8
    b'{"msg":"odd_surrogate \\ud800 7","sec":1,"usec":2}',  # orjson refuses lone surrogates
    b"[1, 2]",  # an array of no events
]
# lines of several kernel lines: quick_text leaves them to decode
SEVERAL_LINES = [
    b'["kern",[[1764181194,{"MESSAGE":"odd_two 5"}],[1764181195,{"MESSAGE":"odd_two 6"}]]]',
    b'[{"date":1764181194.5,"MESSAGE":"odd_array 7"},{"MESSAGE":"odd_array 8"}]',
    b'{"log":"6,205,6005,-;odd_merged 9\\n6,206,6006,-;odd_merged 10","host":"node-1"}',
]
ODD_LINES = [
    *DAMAGED_LINES,
    *SEVERAL_LINES,
    # of node-0's boot (SOURCES[0]), as journald stores a process's line
    b'{"MESSAGE":"odd_user 1","_TRANSPORT":"kernel","SYSLOG_FACILITY":"1","_HOSTNAME":"node-0",'
    b'"_BOOT_ID":"00000000000000000000000000000000"}',
    b'{"MESSAGE":"odd_syslog 2","_TRANSPORT":"syslog","_HOSTNAME":"node-0",'
    b'"_BOOT_ID":"00000000000000000000000000000000"}',
    b'{"MESSAGE":"odd_kernel 3","_TRANSPORT":"kernel","_HOSTNAME":"node-0",'
    b'"_BOOT_ID":"00000000000000000000000000000000"}',
    b'{"MESSAGE":[111,100,100,95,97,114,114,97,121,32,51],"_TRANSPORT":"kernel"}',
    b'{"MESSAGE":["odd_repeated 4","odd_repeated 5"],"_HOSTNAME":"node-1"}',
    b'\x1e{"MESSAGE":"odd_seq 5","_TRANSPORT":"kernel","_HOSTNAME":"node-1"}',
    b'{"MESSAGE":"odd_cr 6","_TRANSPORT":"kernel","_HOSTNAME":"node-2"}\r',
    b'{"MESSAGE":"odd_boot 7","_HOSTNAME":"node-0","_BOOT_ID":"AAE7E8D9EA8A4D399E7A7BBCE85930C1"}',
    b'{"MESSAGE":"odd_ecs 8","host":{"name":"node-1"}}',
    b'{"MESSAGE":"odd_number_host 9","host":5}',
    b'{"MESSAGE":7}',
    b"{}",
    b'[1764181194.5, {"MESSAGE":"odd_event 10","_HOSTNAME":"node-2"}]',
    _kmsg_record("odd\\x5fescaped 11", host="node-0"),
    _kmsg_record("odd_dictionary 12\n SUBSYSTEM=acpi", host="node-2"),
    _kmsg_record("odd_no_host 13"),
    b'{"message":"6,201,6001,-;odd_exec 14","host":"node-1"}',
    b'{"message":"14,202,6002,-;odd_exec_user 15","host":"node-1"}',
    b'{"message":"[ 7000.000003] odd_dmesg 16","host":"node-2"}',
    b'{"log":"odd_plain 17","hostname":"node-0"}',
    b'{"exec":"6,203,6003,-;odd_wrapped 18"}',
    b'{"log":"{\\"MESSAGE\\":\\"odd_nested 19\\",\\"_TRANSPORT\\":\\"kernel\\"}"}',
    b"odd_not_json 20",
    b"6,204,6004,-;odd_kmsg_line 21",
]


@st.composite
def merged_streams(draw: st.DrawFn, name: str) -> bytes:
    """Several hosts' reports in rendering ``name``, interleaved line by line in any order,
    with odd and damaged JSON lines anywhere (inside evidence blocks too)."""
    renderer, _ = LINE_FORMATS[name]
    streams: list[list[bytes]] = []
    for source in SOURCES[: draw(st.integers(1, len(SOURCES)))]:
        records = []
        for _ in range(draw(st.integers(1, 2))):
            records += read_kmsg(draw(st.sampled_from(VARIANTS)))
        streams.append(renderer(records, source).rstrip(b"\n").split(b"\n"))
    lines: list[bytes] = []
    while any(streams):
        stream = draw(st.sampled_from([s for s in streams if s]))
        lines.append(stream.pop(0))
    for _ in range(draw(st.integers(0, 12))):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(ODD_LINES)))
    return b"\n".join(lines) + b"\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.data(),
    st.sampled_from(JSON_FORMATS),
    st.sampled_from(["named", "auto"]),
    st.sampled_from([None, "h"]),
)
def test_json_quick_text_gives_the_records_of_decoding_every_line(
    data: st.DataObject, name: str, chosen: str, host: str | None
) -> None:
    """Merged hosts' JSON records read through quick_text give the records and the reported
    lines of decoding every line, with and without a host set by normalising."""
    stream = data.draw(merged_streams(name))
    decoder = FORMAT_NAMES[name] if chosen == "named" else "auto"
    expected = run_decoder(decoder, True, stream, host)
    assert run_decoder(decoder, False, stream, host) == expected
    if "host" in LINE_FORMATS[name][1]:  # else the hosts' reports are one source's and mix
        assert len(expected[0]) >= stream.count(b"Killed process")


def _quick_and_decoded(decoder_name: str, lines: list[bytes]) -> list[tuple[object, object]]:
    """Each line's quick_text (with what it reported) and decode (with what it reported), in
    stream order on one decoder (decoding keeps per-stream state)."""
    reports: list[tuple[str, bytes]] = []
    decoder = make_decoder(
        decoder_name, DecodeOptions(year=2025, report=lambda *r: reports.append(r))
    )
    out: list[tuple[object, object]] = []
    for raw in lines:
        quick = decoder.quick_text(raw)  # type: ignore[attr-defined]
        quick_reports = list(reports)
        reports.clear()
        decoded = decoder.decode(raw)
        out.append(((quick, quick_reports), (decoded, list(reports))))
        reports.clear()
    return out


@pytest.mark.parametrize("chosen", ["named", "auto"])
@pytest.mark.parametrize("name", JSON_FORMATS)
def test_quick_text_is_what_decode_gives(name: str, chosen: str) -> None:
    """Over every line of every capture in the rendering: quick_text, where it answers, is
    decode's (text, (host, boot id)) of a kernel line that reports nothing; it reports nothing
    itself; and it answers for the plain records of every rendering whose text needs no line
    decoder guessing its format."""
    renderer, _ = LINE_FORMATS[name]
    decoder = FORMAT_NAMES[name] if chosen == "named" else "auto"
    lines = [
        line
        for data in VARIANTS
        for source in SOURCES
        for line in renderer(read_kmsg(data), source).rstrip(b"\n").split(b"\n")
    ]
    answered = left = 0
    for (quick, quick_reports), (decoded, reports) in _quick_and_decoded(decoder, lines):
        assert quick_reports == []
        if isinstance(decoded, KernelLines):  # a line of several: left to decode
            assert quick is None
        if not isinstance(decoded, KernelLine) or reports:  # (none quick_text may answer)
            left += 1
        if quick is not None:
            answered += 1
            assert isinstance(decoded, KernelLine)
            assert quick == (decoded.text, (decoded.host, decoded.boot_id))
            assert reports == []
    if name in PLAIN_TEXT_FORMATS:  # auto-detection must decode their text
        assert answered == 0
    else:  # (lines of several, json-sse's empty lines between entries: none answered)
        assert answered >= (len(lines) - left) * 9 // 10


@pytest.mark.parametrize("chosen", ["json", "auto"])
def test_quick_text_of_odd_lines(chosen: str) -> None:
    """Among other JSON records, quick_text answers None for each damaged line (decode reports
    it) and otherwise what decode gives, or None."""
    lines = LINE_FORMATS["json-fluentbit-systemd"][0](read_kmsg(CAPTURES[0]), SOURCES[1])
    head = lines.split(b"\n")[:3]
    for odd in ODD_LINES:
        (quick, quick_reports), (decoded, reports) = _quick_and_decoded(chosen, [*head, odd])[-1]
        assert quick_reports == []
        if odd in DAMAGED_LINES:
            assert reports, odd
            assert quick is None, odd
        elif odd in SEVERAL_LINES:
            assert isinstance(decoded, KernelLines) and not reports, odd
            assert quick is None, odd
        elif quick is not None:
            assert isinstance(decoded, KernelLine) and not reports, odd
            assert quick == (decoded.text, (decoded.host, decoded.boot_id)), odd


def test_auto_and_named_decoders_forward_json_quick_text() -> None:
    """``--input-format json`` and ``auto`` (after a JSON line) answer by the JSON decoder's
    quick_text; a Fluent Bit kmsg record gives its text and host."""
    raw = _kmsg_record("anon 1234", host="node-7")
    auto = make_decoder("auto", DecodeOptions())
    assert isinstance(auto, AutoDecoder)
    assert auto.quick_text(raw) is None  # no format seen yet: decode it
    assert isinstance(auto.decode(raw), KernelLine)
    assert auto.quick_text(raw) == ("anon 1234", ("node-7", None))
    named = make_decoder("json", DecodeOptions())
    assert named.quick_text(raw) == ("anon 1234", ("node-7", None))  # type: ignore[attr-defined]
    journal = make_decoder("journal-json", DecodeOptions())
    assert journal.quick_text(raw) is None  # type: ignore[attr-defined]  # not a journal entry
