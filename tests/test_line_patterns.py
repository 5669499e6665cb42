"""The assembler's line patterns written for speed match exactly what their plain forms match:
the same groups and span on every fixture line and on generated lines (the header's name found
from the line's end, too)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oom_input.assembler import (
    KILL_BARE_RE,
    KILL_PID_RE,
    KILL_RE,
    MEMCG_STATS_RE,
    SUMMARY_RE,
    TRIGGER_RE,
    _split_header,
)

DATA = Path(__file__).parent / "data"

# the plain forms: a lazy ".*?" tries the rest of the pattern after every character
PLAIN = {
    TRIGGER_RE: re.compile(
        r"^CPU: \d+ (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>.*?)"
        r"(?: Kdump: \S+)?(?: (?:Not )?[Tt]ainted|$)",
        re.DOTALL,
    ),
    MEMCG_STATS_RE: re.compile(r"^Memory cgroup stats for (?P<path>.*?):(?:\s*$| \w+:)", re.DOTALL),
    # (KILL_RE's name group as it is: tests/test_record_close.py checks it against its plain form)
    KILL_RE: re.compile(
        r"^(?:(?P<reason>.*?): )?Killed process (?P<pid>\d+)"
        r"(?:, UID (?P<uid_a>\d+),)? \((?P<comm_closed>.*\))(?:, UID (?P<uid_b>\d+),)? "
        r"(?:total-vm|vsz):(?P<total_vm>\d+)kB, anon-rss:(?P<anon>\d+)kB, file-rss:(?P<file>\d+)kB"
        r"(?:, shmem-rss:(?P<shmem>\d+)kB)?"
        r"(?:,? UID:(?P<uid_c>\d+)(?: pgtables:(?P<pgtables>\d+)kB oom_score_adj:(?P<adj>-?\d+))?)?"
        r"\s*$",
        re.DOTALL,
    ),
    KILL_BARE_RE: re.compile(
        r"^(?:(?P<reason>.*?): )?Killed process (?P<pid>\d+) \((?P<comm>.*)\)\s*$", re.DOTALL
    ),
    KILL_PID_RE: re.compile(r"^(?:(?P<reason>.*?): )?Killed process (?P<pid>\d+)", re.DOTALL),
    SUMMARY_RE: re.compile(
        r"^oom-kill:constraint=(?P<constraint>[A-Z_]+)"
        r"(?:,nodemask=(?P<nodemask>.*?))?"
        r"(?:,cpuset=(?P<cpuset>.*?),mems_allowed=(?P<mems>[-0-9,]*?))?"
        r"(?:,oom_memcg=(?P<oom_memcg>.*?)|,(?P<global_oom>global_oom))?"
        r"(?:,task_memcg=(?P<task_memcg>.*?))?"
        r",task=(?P<task>.*),pid=(?P<pid>\d+),uid=(?P<uid>\d+)\s*$",
        re.DOTALL,
    ),
}
PLAIN_HEADER = re.compile(
    r"^(?P<comm>.*) invoked oom-killer: gfp_mask=(?P<gfp>0x[0-9a-fA-F]+(?:\([^)]*\))?)"
    r"(?:, nodemask=(?P<nodemask>.*?))?,\s+order=(?P<order>-?\d+)"
    r"(?:, oom_adj=-?\d+)?(?:, oom_score_adj=-?\d+)?\s*$",
    re.DOTALL,
)
# where each pattern's lines start in a line of any format
STARTS = {
    TRIGGER_RE: "CPU: ",
    MEMCG_STATS_RE: "Memory cgroup stats for ",
    # (a kill line's reason comes first: whole lines, a record's prefix and all, and from each
    # "Killed process " on)
    KILL_RE: "Killed process ",
    KILL_BARE_RE: "Killed process ",
    KILL_PID_RE: "Killed process ",
    SUMMARY_RE: "oom-kill:constraint=",
}


def assert_same(fast: re.Pattern[str], text: str) -> None:
    got, want = fast.match(text), PLAIN[fast].match(text)
    assert (got is None) == (want is None), text
    if got is not None and want is not None:
        assert got.span() == want.span(), text
        assert got.groupdict() == want.groupdict(), text


def assert_same_header(text: str) -> None:
    """_split_header gives PLAIN_HEADER's name and groups, its rest ending where it ends."""
    split, want = _split_header(text), PLAIN_HEADER.match(text)
    assert (split is None) == (want is None), text
    if split is not None and want is not None:
        comm, rest = split
        assert {"comm": comm, **rest.groupdict()} == want.groupdict(), text
        assert rest.end() == want.end(), text


def fixture_texts(start: str) -> list[str]:
    """Every fixture line from each place ``start`` occurs in it on (the text a decoder gives
    starts there), newlines of escaped names included as the decoders read them."""
    texts = []
    for path in sorted(DATA.rglob("*")):
        if not path.is_file():
            continue
        for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
            line = line.replace("\\x0a", "\n").replace("#012", "\n")
            if not start:
                texts.append(line)
                continue
            at = line.find(start)
            while at >= 0:
                texts.append(line[at:])
                at = line.find(start, at + 1)
    return texts


_KILL_PATTERNS = (KILL_RE, KILL_BARE_RE, KILL_PID_RE)
_NAMES = {
    TRIGGER_RE: "trigger",
    MEMCG_STATS_RE: "stats",
    KILL_RE: "kill",
    KILL_BARE_RE: "kill_bare",
    KILL_PID_RE: "kill_pid",
    SUMMARY_RE: "summary",
}


@pytest.mark.parametrize("fast", list(PLAIN), ids=_NAMES.get)
def test_fixture_lines_match_as_the_plain_pattern(fast: re.Pattern[str]) -> None:
    texts = fixture_texts(STARTS[fast])
    if fast in _KILL_PATTERNS:  # (the reason: before "Killed process ")
        texts += [text for text in fixture_texts("") if "Killed process " in text]
    assert len(texts) > 20  # the fixtures hold many such lines
    for text in texts:
        assert_same(fast, text)
        assert_same(fast, text.rstrip())
        assert_same(fast, text + "\n")


def test_fixture_headers_split_as_the_plain_pattern() -> None:
    """Every fixture line, whole and from each space on (a header's text starts after some
    prefix of its format)."""
    headers = 0
    for line in fixture_texts(""):
        if "invoked oom-killer" not in line:
            continue
        headers += 1
        for at in [0] + [i for i, char in enumerate(line) if char == " "]:
            for text in (line[at:], line[at:] + "\n", line[at:].rstrip()):
                assert_same_header(text)
    assert headers > 20


_HEADER_PIECES = [
    " invoked oom-killer: ",
    "gfp_mask=0xcc0(GFP_KERNEL)",
    "gfp_mask=0x201da",
    ", order=0",
    ", order=-1",
    ", nodemask=(null)",
    ",  order=0",
    ", oom_adj=0",
    ", oom_score_adj=-1000",
    "stress",
    " ",
    "\n",
    ",",
    "x",
]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_HEADER_PIECES), max_size=14))
# a name that holds a whole header: the rest matches from both places (the last one's is it)
@example(
    [
        "x",
        " invoked oom-killer: ",
        "gfp_mask=0x201da",
        ", nodemask=(null)",
        " invoked oom-killer: ",
        "gfp_mask=0xcc0(GFP_KERNEL)",
        ", order=0",
    ]
)
def test_generated_headers_split_as_the_plain_pattern(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert_same_header(text)
    assert_same_header("a b" + text)


_PIECES = {
    TRIGGER_RE: [
        "CPU: 1 ",
        "UID: 0 ",
        "PID: 42 ",
        "Comm: ",
        "Kdump: ",
        "loaded",
        " Not tainted 6.18",
        " tainted",
        " Tainted: G",
        "Not ",
        "a b",
        " ",
        "\n",
        "\t",
        "x",
        ":",
    ],
    KILL_RE: [
        "Killed process ",
        "Memory cgroup out of memory",
        "Out of memory",
        ": ",
        ":",
        "42",
        " (",
        "(",
        ")",
        "), UID 5,",
        ", UID 5, (",
        " total-vm:1kB, anon-rss:2kB, file-rss:3kB",
        ", shmem-rss:0kB",
        " UID:0 pgtables:4kB oom_score_adj:-1000",
        ",",
        " ",
        "\n",
        "a b",
        "x",
    ],
    SUMMARY_RE: [
        "oom-kill:constraint=",
        "CONSTRAINT_MEMCG",
        ",nodemask=(null)",
        ",nodemask=",
        ",cpuset=/",
        ",mems_allowed=0",
        ",mems_allowed=0-1,3",
        ",oom_memcg=/a",
        ",global_oom",
        ",task_memcg=/a/b",
        ",task=stress",
        ",pid=3171",
        ",uid=0",
        ",",
        "a,b",
        "=",
        " ",
        "\n",
        "x",
    ],
    MEMCG_STATS_RE: [
        "Memory cgroup stats for ",
        "/a",
        ":",
        ": ",
        " cache:0KB",
        " rss:",
        " x",
        "::",
        " ",
        "\n",
        "\t",
        "w",
        "é",
    ],
}


@settings(max_examples=2000, deadline=None)
@given(st.data())
def test_generated_lines_match_as_the_plain_pattern(data: st.DataObject) -> None:
    for fast, pieces in _PIECES.items():
        parts = data.draw(st.lists(st.sampled_from(pieces), max_size=12))
        text = "".join(parts)
        assert_same(fast, text)
        assert_same(fast, STARTS[fast] + text)
        if fast is TRIGGER_RE:
            assert_same(fast, "CPU: 1 PID: 42 Comm: " + text)
        if fast is KILL_RE:  # (the bare and pid-only forms read the same pieces)
            for kill in _KILL_PATTERNS:
                assert_same(kill, text)
                assert_same(kill, "Killed process 42 (" + text)
                assert_same(
                    kill, text + "Killed process 42 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB"
                )
        if fast is SUMMARY_RE:
            assert_same(fast, "oom-kill:constraint=CONSTRAINT_NONE" + text)
            assert_same(fast, "oom-kill:constraint=CONSTRAINT_MEMCG" + text + ",task=a,pid=1,uid=0")
