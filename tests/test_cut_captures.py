"""A follower cut short: ``dmesg -k -w | oom-input`` when dmesg is killed leaves the prefix its
block-buffered pipe held, cut anywhere in a line. Every such prefix of a real capture is read
without error: a record once the report began, complete once its kill line is whole."""

from __future__ import annotations

import pytest
from helpers import DATA, run_cli, run_pipeline

CAPTURE = (DATA / "decoders" / "stress-w.dmesg-follow").read_bytes()
HEADER_END = CAPTURE.index(b"gfp_mask=") + len(b"gfp_mask=")  # the header's marker, whole
KILL_LINE = CAPTURE.rindex(b"\n", 0, CAPTURE.index(b"Killed process")) + 1
CONSTRAINT_END = CAPTURE.index(b"\n", CAPTURE.index(b"oom-kill:constraint="))
CUTS = sorted({*range(0, len(CAPTURE) + 1, 7), *range(KILL_LINE - 2, len(CAPTURE) + 1)})


def test_the_capture_is_one_real_report() -> None:
    records = run_pipeline([CAPTURE])
    assert [(r["pid"], r["process_name"], r["complete"]) for r in records] == [
        (27004, "stress-w", True)
    ]
    assert CAPTURE.endswith(b"oom_score_adj:0\n")


@pytest.mark.parametrize("cut", CUTS)
def test_every_prefix_is_read(cut: int) -> None:
    """No error; no record before the header's marker, then one record, complete once its
    kill line is whole (its newline may be missing)."""
    records = run_pipeline([CAPTURE[:cut]])
    if cut < HEADER_END:
        assert records == []
        return
    assert len(records) == 1
    assert records[0]["complete"] or cut < len(CAPTURE) - 1


def test_a_kill_line_cut_short_keeps_the_victim_the_constraint_line_gave() -> None:
    """A kill line cut in its pid or after it (the follower's last bytes): the pid and name the
    oom-kill line gave, not the digits read nor null."""
    victims = {
        cut: tuple(run_pipeline([CAPTURE[:cut]])[0][k] for k in ("pid", "process_name"))
        for cut in range(CONSTRAINT_END + 1, len(CAPTURE) + 1)
    }
    assert set(victims.values()) == {(27004, "stress-w")}, {v: k for k, v in victims.items()}


def test_a_killed_follower_through_the_cli() -> None:
    """A prefix cut inside the kill line on stdin (what a killed dmesg's pipe may hold): the
    record, exit 0, nothing on stderr."""
    cut = KILL_LINE + 60
    assert b"\n" not in CAPTURE[KILL_LINE:cut]
    result = run_cli(stdin=CAPTURE[:cut])
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout.count(b"\n") == 1 and b'"pid":27004' in result.stdout
