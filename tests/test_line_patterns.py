"""The assembler's line patterns written for speed match exactly what their plain forms match:
the same groups and span on every fixture line and on generated lines (the header's name found
from the line's end, too)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oom_input.assembler import MEMCG_STATS_RE, TRIGGER_RE, _split_header

DATA = Path(__file__).parent / "data"

# the plain forms: a lazy ".*?" tries the rest of the pattern after every character
PLAIN = {
    TRIGGER_RE: re.compile(
        r"^CPU: \d+ (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>.*?)"
        r"(?: Kdump: \S+)?(?: (?:Not )?[Tt]ainted|$)",
        re.DOTALL,
    ),
    MEMCG_STATS_RE: re.compile(r"^Memory cgroup stats for (?P<path>.*?):(?:\s*$| \w+:)", re.DOTALL),
}
PLAIN_HEADER = re.compile(
    r"^(?P<comm>.*) invoked oom-killer: gfp_mask=(?P<gfp>0x[0-9a-fA-F]+(?:\([^)]*\))?)"
    r"(?:, nodemask=(?P<nodemask>.*?))?,\s+order=(?P<order>-?\d+)"
    r"(?:, oom_adj=-?\d+)?(?:, oom_score_adj=-?\d+)?\s*$",
    re.DOTALL,
)
# where each pattern's lines start in a line of any format
STARTS = {TRIGGER_RE: "CPU: ", MEMCG_STATS_RE: "Memory cgroup stats for "}


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


@pytest.mark.parametrize("fast", list(PLAIN), ids=lambda p: STARTS[p].strip())
def test_fixture_lines_match_as_the_plain_pattern(fast: re.Pattern[str]) -> None:
    texts = fixture_texts(STARTS[fast])
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
