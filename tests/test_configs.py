"""The agent configs, the Kubernetes manifests and the Dockerfile (``configs/``, ``Dockerfile``).

Every file must parse, every ``oom-input`` command line in it (commented examples included) must
be accepted by the CLI's own argument parser, and the settings that keep records from being lost
must be there. The Fluent Bit exec contract is replayed without Fluent Bit: the configured command
runs on a real capture and its stdout is read the way ``in_exec`` reads it (``fgets`` with the
configured ``buf_size``), so every chunk must be one whole JSON record.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack
import pytest
import yaml

from oom_input.cli import build_parser, check_options

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ModuleNotFoundError:
        tomllib = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
KUBE = CONFIGS / "kubernetes"
REAL = Path(__file__).parent / "data" / "real"
PROGRAM = "oom-input"

# live-only options, dropped when a live command is replayed on a capture file
LIVE_OPTIONS_WITH_VALUE = ("--state-file", "--start", "--idle-timeout")
LIVE_FLAGS = ("--kmsg", "--journal")
FLUENT_BIT_DEFAULT_BUF_SIZE = 4096
KIB = 1024


# --- small parsers for the formats that have no library here --------------------------------


@dataclass
class Section:
    """A ``[NAME]`` section of a classic Fluent Bit config; keys lower-cased."""

    name: str
    entries: dict[str, str] = field(default_factory=dict)


def parse_fluent_bit_classic(text: str) -> list[Section]:
    """Sections of a classic Fluent Bit config; raises ValueError on a malformed line."""
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("@"):  # @INCLUDE, @SET
            continue
        header = re.fullmatch(r"\[([A-Z_]+)\]", line)
        if header:
            sections.append(Section(header.group(1)))
            continue
        entry = re.fullmatch(r"( +)([A-Za-z_][A-Za-z0-9_.]*)\s+(\S.*)", line)
        if entry is None or not sections:
            raise ValueError(f"line {number}: not a section header or an indented key: {raw!r}")
        key = entry.group(2).lower()
        if key in sections[-1].entries and sections[-1].name != "PARSER":
            raise ValueError(f"line {number}: {key} given twice")
        sections[-1].entries[key] = entry.group(3)
    return sections


@dataclass
class Directive:
    """A ``<name arg>`` block of a Fluentd config, with its parameters and nested blocks."""

    name: str
    arg: str = ""
    params: dict[str, str] = field(default_factory=dict)
    children: list[Directive] = field(default_factory=list)

    def child(self, name: str) -> Directive:
        """The one nested block called ``name``."""
        found = [c for c in self.children if c.name == name]
        assert len(found) == 1, f"<{self.name} {self.arg}>: {len(found)} <{name}> blocks"
        return found[0]


def parse_fluentd(text: str) -> Directive:
    """The top-level blocks of a Fluentd config (as children of a root); ValueError if broken."""
    stack = [Directive("ROOT")]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        opening = re.fullmatch(r"<([a-z_]+)(?:\s+([^>]+))?>", line)
        closing = re.fullmatch(r"</([a-z_]+)>", line)
        if opening:
            block = Directive(opening.group(1), (opening.group(2) or "").strip())
            stack[-1].children.append(block)
            stack.append(block)
        elif closing:
            if len(stack) == 1 or stack[-1].name != closing.group(1):
                raise ValueError(f"line {number}: </{closing.group(1)}> closes nothing open")
            stack.pop()
        else:
            param = re.fullmatch(r"(@?[a-z_]+)\s+(.+)", line)
            if param is None:
                raise ValueError(f"line {number}: not a parameter: {raw!r}")
            stack[-1].params[param.group(1)] = param.group(2)
    if len(stack) != 1:
        raise ValueError(f"<{stack[-1].name}> is never closed")
    return stack[0]


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def fluent_bit_size(value: str) -> int:
    """Bytes of a Fluent Bit unit size (``1M``, ``64k``, ``4096``): 1000-based, as documented."""
    match = re.fullmatch(r"(\d+)\s*([kKmMgG]?)[bB]?", value.strip())
    assert match, f"not a Fluent Bit size: {value!r}"
    return int(match.group(1)) * {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[match.group(2).lower()]


# --- the files ---------------------------------------------------------------------------------


def load_yaml_docs(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def kube_docs() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(KUBE.glob("*.yaml")):
        docs.extend(load_yaml_docs(path))
    return docs


def kube_objects(kind: str, path: Path) -> list[dict[str, Any]]:
    return [doc for doc in load_yaml_docs(path) if doc["kind"] == kind]


def only(items: list[Any]) -> Any:
    assert len(items) == 1, f"expected one, got {len(items)}"
    return items[0]


def fluent_bit_classic_inputs(path: Path) -> list[dict[str, str]]:
    return [
        s.entries
        for s in parse_fluent_bit_classic(path.read_text())
        if s.name == "INPUT" and s.entries.get("name") == "exec"
    ]


def fluent_bit_yaml_inputs(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in config["pipeline"]["inputs"] if i["name"] == "exec"]


def fluent_bit_configmap() -> dict[str, Any]:
    configmap = only(kube_objects("ConfigMap", KUBE / "fluent-bit-daemonset.yaml"))
    return yaml.safe_load(configmap["data"]["fluent-bit.yaml"])


def vector_yaml() -> dict[str, Any]:
    return yaml.safe_load((CONFIGS / "vector.yaml").read_text())


def fluentd() -> Directive:
    return parse_fluentd((CONFIGS / "fluentd.conf").read_text())


def fluentd_blocks(name: str, plugin: str) -> list[Directive]:
    return [d for d in fluentd().children if d.name == name and d.params.get("@type") == plugin]


def daemonset() -> dict[str, Any]:
    return only(kube_objects("DaemonSet", KUBE / "daemonset.yaml"))


def container(ds: dict[str, Any]) -> dict[str, Any]:
    return only(ds["spec"]["template"]["spec"]["containers"])


# --- every oom-input command line ----------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """An oom-input command line found in a config: where, and its argv without the program."""

    where: str
    args: tuple[str, ...]


def _split(where: str, command: str | list[str]) -> Command | None:
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if not argv or Path(argv[0]).name != PROGRAM:
        return None
    return Command(where, tuple(argv[1:]))


def _structured_commands() -> Iterator[Command | None]:
    for name in ("fluent-bit.conf", "fluent-bit-journal.conf"):
        for entries in fluent_bit_classic_inputs(CONFIGS / name):
            yield _split(name, entries["command"])
    for entry in fluent_bit_yaml_inputs(yaml.safe_load((CONFIGS / "fluent-bit.yaml").read_text())):
        yield _split("fluent-bit.yaml", entry["command"])
    for source in vector_yaml()["sources"].values():
        if source["type"] == "exec":
            yield _split("vector.yaml", source["command"])
    if tomllib is not None:
        toml = tomllib.loads((CONFIGS / "vector.toml").read_text())
        for source in toml["sources"].values():
            if source["type"] == "exec":
                yield _split("vector.toml", source["command"])
    for block in fluentd().children:
        if block.params.get("@type") in ("exec", "exec_filter"):
            yield _split(
                f"fluentd.conf <{block.name} {block.arg}>".strip(), block.params["command"]
            )
    ds_container = container(daemonset())
    yield _split("daemonset.yaml", [PROGRAM, *ds_container["args"]])
    for entry in fluent_bit_yaml_inputs(fluent_bit_configmap()):
        yield _split("fluent-bit-daemonset.yaml ConfigMap", entry["command"])
    entrypoint, cmd = dockerfile_entrypoint_and_cmd(ROOT / "Dockerfile")
    yield _split("Dockerfile", [*entrypoint, *cmd])


COMMENTED_COMMAND = re.compile(
    r"^\s*#+\s*(?:-\s*)?command\s*[:=]?\s*(?P<q>['\"]?)(?P<cmd>oom-input\b[^'\"\]]*)(?P=q)",
    re.IGNORECASE,
)
COMMENTED_ARGV = re.compile(r"^\s*#+\s*command\s*[:=]\s*(?P<argv>\[\"oom-input\".*\])\s*$")


def _commented_commands() -> Iterator[Command]:
    """oom-input command lines in comments (examples a user would uncomment)."""
    paths = [*sorted(CONFIGS.glob("*.*")), *sorted(KUBE.glob("*.*"))]
    for path in paths:
        if path.suffix == ".md":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.name}:{number} (comment)"
            argv = COMMENTED_ARGV.match(line)
            if argv:
                yield Command(where, tuple(json.loads(argv.group("argv"))[1:]))
                continue
            text = COMMENTED_COMMAND.match(line)
            if text:
                yield Command(where, tuple(shlex.split(text.group("cmd"))[1:]))


def dockerfile_entrypoint_and_cmd(path: Path) -> tuple[list[str], list[str]]:
    """The final ENTRYPOINT and CMD of a Dockerfile, both in JSON (exec) form."""
    instructions = dockerfile_instructions(path.read_text())
    entrypoint = [json.loads(a) for i, a in instructions if i == "ENTRYPOINT"][-1]
    cmd = [json.loads(a) for i, a in instructions if i == "CMD"][-1]
    return entrypoint, cmd


def all_commands() -> list[Command]:
    commands = [c for c in _structured_commands() if c is not None]
    return commands + list(_commented_commands())


def _known_options() -> dict[str, Any]:
    # argparse has no public list of its options; _option_string_actions is stable since 3.2
    return dict(build_parser()._option_string_actions)


# --- every file parses ---------------------------------------------------------------------------

CONFIG_FILES = [
    *sorted(p for p in [*CONFIGS.glob("*.*"), *KUBE.glob("*.*")] if p.suffix != ".md"),
    ROOT / "Dockerfile",
]


def parse_any(path: Path) -> Any:
    """The file parsed by the parser of its format."""
    text = path.read_text()
    if path.suffix == ".yaml":
        return load_yaml_docs(path)
    if path.suffix == ".toml":
        if tomllib is None:
            pytest.skip("no TOML parser (Python 3.10 without tomli)")
        return tomllib.loads(text)
    if path.name == "fluentd.conf":
        return parse_fluentd(text)
    if path.suffix == ".conf":
        return parse_fluent_bit_classic(text)
    if path.name == "Dockerfile" or path.suffix == ".Dockerfile":
        return dockerfile_instructions(text)
    raise AssertionError(f"no parser for {path}")


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_config_file_parses(path: Path) -> None:
    """Every config file parses with the parser of its format and is not empty."""
    assert parse_any(path)


def test_configs_readme_exists() -> None:
    """configs/README.md names every agent's config file."""
    readme = (CONFIGS / "README.md").read_text()
    for name in ("fluent-bit.conf", "fluent-bit.yaml", "vector.yaml", "fluentd.conf"):
        assert name in readme


@pytest.mark.parametrize(
    "name",
    [
        "fluent-bit.conf",
        "fluent-bit-journal.conf",
        "fluent-bit.yaml",
        "vector.yaml",
        "fluentd.conf",
    ],
)
def test_config_runs_oom_input(name: str) -> None:
    """Each agent config runs oom-input at least once (not in a comment)."""
    assert any(c.where.startswith(name) for c in all_commands() if "(comment)" not in c.where)


@pytest.mark.parametrize("command", all_commands(), ids=lambda c: c.where)
def test_command_line_is_accepted_by_the_cli(command: Command) -> None:
    """Each oom-input command line in the configs parses with the CLI's own parser."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(command.args))
        if not command.args or command.args[0] != "summary":
            # the checks main() makes next: values, and options the mode can honour
            live = args.kmsg is not None or args.journal
            check_options(args, parser, "live" if live else "offline")
    except SystemExit as exc:  # argparse exits 2 on a usage error
        pytest.fail(f"{command.where}: oom-input {shlex.join(command.args)} rejected ({exc})")


@pytest.mark.parametrize("command", all_commands(), ids=lambda c: c.where)
def test_command_line_spells_options_out(command: Command) -> None:
    """Each option in the configs is an exact option name (no argparse abbreviation)."""
    known = _known_options()
    options = [a.split("=", 1)[0] for a in command.args if a.startswith("-") and a != "-"]
    assert [o for o in options if o not in known] == []


# --- Fluent Bit ----------------------------------------------------------------------------------


def all_fluent_bit_exec_inputs() -> list[Any]:
    inputs = [
        pytest.param({k: str(v) for k, v in entry.items()}, id=name)
        for name in ("fluent-bit.conf", "fluent-bit-journal.conf")
        for entry in fluent_bit_classic_inputs(CONFIGS / name)
    ]
    yaml_config = yaml.safe_load((CONFIGS / "fluent-bit.yaml").read_text())
    inputs += [pytest.param(e, id="fluent-bit.yaml") for e in fluent_bit_yaml_inputs(yaml_config)]
    inputs += [
        pytest.param(e, id="fluent-bit-daemonset.yaml")
        for e in fluent_bit_yaml_inputs(fluent_bit_configmap())
    ]
    return inputs


def is_on(value: Any) -> bool:
    return value is True or str(value).lower() in ("on", "true", "yes", "1")


@pytest.mark.parametrize("entry", all_fluent_bit_exec_inputs())
def test_fluent_bit_exec_input_is_threaded(entry: dict[str, Any]) -> None:
    """Fluent Bit's exec input runs threaded (else a never-ending command flushes nothing)."""
    assert is_on(entry.get("threaded"))


@pytest.mark.parametrize("entry", all_fluent_bit_exec_inputs())
def test_fluent_bit_exec_input_buffer_holds_long_records(entry: dict[str, Any]) -> None:
    """Fluent Bit's exec buf_size is set far above the 4096-byte default (64 KiB at least)."""
    assert fluent_bit_size(str(entry["buf_size"])) >= 64 * KIB


@pytest.mark.parametrize("entry", all_fluent_bit_exec_inputs())
def test_fluent_bit_exec_input_uses_the_json_record_parser(entry: dict[str, Any]) -> None:
    """Fluent Bit's exec input parses each line with the oom_record parser."""
    assert entry["parser"] == "oom_record"


def fluent_bit_parsers() -> list[Any]:
    classic = [
        s.entries
        for s in parse_fluent_bit_classic((CONFIGS / "parsers.conf").read_text())
        if s.name == "PARSER"
    ]
    yaml_config = yaml.safe_load((CONFIGS / "fluent-bit.yaml").read_text())
    return [
        *(pytest.param(p, id="parsers.conf") for p in classic),
        *(pytest.param(p, id="fluent-bit.yaml") for p in yaml_config["parsers"]),
        *(
            pytest.param(p, id="fluent-bit-daemonset.yaml")
            for p in fluent_bit_configmap()["parsers"]
        ),
    ]


@pytest.mark.parametrize("parser", fluent_bit_parsers())
def test_fluent_bit_parser_reads_time_of_death(parser: dict[str, Any]) -> None:
    """The oom_record parser is JSON, takes its time from time_of_death and keeps the field."""
    assert parser["name"] == "oom_record"
    assert parser["format"] == "json"
    assert parser["time_key"] == "time_of_death"
    assert parser["time_format"] == "%Y-%m-%dT%H:%M:%S.%LZ"
    assert is_on(parser["time_keep"])


def strptime_format(fluent_bit_format: str) -> str:
    """Fluent Bit's time format as Python strptime reads it (%L, fraction of a second: %f)."""
    return fluent_bit_format.replace("%L", "%f")


def test_fluent_bit_configmap_matches_fluent_bit_yaml() -> None:
    """The DaemonSet variant's ConfigMap has the same exec input and parser as fluent-bit.yaml."""
    standalone = yaml.safe_load((CONFIGS / "fluent-bit.yaml").read_text())
    embedded = fluent_bit_configmap()
    assert fluent_bit_yaml_inputs(embedded) == fluent_bit_yaml_inputs(standalone)
    assert embedded["parsers"] == standalone["parsers"]


# --- the Fluent Bit exec contract, replayed without Fluent Bit -----------------------------------


def configured_fluent_bit_input() -> dict[str, str]:
    return only(fluent_bit_classic_inputs(CONFIGS / "fluent-bit.conf"))


def offline_args(command: str, files: list[Path], extra: tuple[str, ...] = ()) -> list[str]:
    """The configured live command with its live-only options replaced by capture files."""
    argv = shlex.split(command)[1:]
    kept: list[str] = []
    skip_value = False
    for arg in argv:
        if skip_value:
            skip_value = False
            continue
        option = arg.split("=", 1)[0]
        if option in LIVE_FLAGS:
            continue
        if option in LIVE_OPTIONS_WITH_VALUE:
            skip_value = "=" not in arg
            continue
        kept.append(arg)
    return [*kept, *extra, *map(str, files)]


def read_like_in_exec(args: list[str], buf_size: int) -> list[bytes]:
    """Run oom-input and read its stdout as Fluent Bit's in_exec does: fgets(buf, buf_size),
    i.e. up to buf_size - 1 bytes or through a newline, whichever comes first."""
    runner = "import sys; from oom_input.cli import main; sys.exit(main())"
    with subprocess.Popen(
        [sys.executable, "-c", runner, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None
        chunks = []
        while chunk := proc.stdout.readline(buf_size - 1):
            chunks.append(chunk)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr.decode(errors="replace")
    return chunks


def whole_records(chunks: list[bytes]) -> list[dict[str, Any] | None]:
    """Each fgets chunk parsed on its own, as the json parser gets it (None: does not parse)."""
    result: list[dict[str, Any] | None] = []
    for chunk in chunks:
        try:
            record = json.loads(chunk.removesuffix(b"\n"))
        except ValueError:
            record = None
        result.append(record if isinstance(record, dict) else None)
    return result


@pytest.fixture
def long_cgroup_capture(tmp_path: Path) -> Path:
    """simple-memcg.kmsg with its 13-byte cgroup path made 3020 bytes long (record: ~6.7 KB)."""
    long_path = "/machine/" + "/".join(["n" * 250] * 12)
    capture = tmp_path / "long-cgroup.kmsg"
    capture.write_text((REAL / "simple-memcg.kmsg").read_text().replace("/machine/demo", long_path))
    return capture


def test_fluent_bit_exec_reads_every_record_of_a_real_capture_whole() -> None:
    """Replaying fluent-bit.conf's command on a real capture: each fgets chunk is one record."""
    entry = configured_fluent_bit_input()
    args = offline_args(entry["command"], [REAL / "two-kills-with-noise.kmsg"])
    chunks = read_like_in_exec(args, fluent_bit_size(entry["buf_size"]))
    records = whole_records(chunks)
    assert len(records) == 2
    assert all(r is not None and r["event"] == "oom_kill" for r in records)


def test_fluent_bit_exec_reads_a_record_longer_than_4_kib_whole(long_cgroup_capture: Path) -> None:
    """With the configured buf_size a 6.7 KB record (long cgroup path) stays one chunk."""
    entry = configured_fluent_bit_input()
    args = offline_args(entry["command"], [long_cgroup_capture])
    records = whole_records(read_like_in_exec(args, fluent_bit_size(entry["buf_size"])))
    assert len(records) == 1
    assert records[0] is not None
    assert len(records[0]["container_name"]) > FLUENT_BIT_DEFAULT_BUF_SIZE // 2


def test_fluent_bit_default_buf_size_would_split_the_long_record(long_cgroup_capture: Path) -> None:
    """The default 4096-byte buffer cuts the same record into pieces that do not parse."""
    entry = configured_fluent_bit_input()
    args = offline_args(entry["command"], [long_cgroup_capture])
    records = whole_records(read_like_in_exec(args, FLUENT_BIT_DEFAULT_BUF_SIZE))
    assert len(records) > 1
    assert None in records


def test_fluent_bit_parser_time_format_reads_time_of_death() -> None:
    """parsers.conf's Time_Format reads the time_of_death oom-input writes, as UTC."""
    parser = only(
        [
            s.entries
            for s in parse_fluent_bit_classic((CONFIGS / "parsers.conf").read_text())
            if s.name == "PARSER"
        ]
    )
    entry = configured_fluent_bit_input()
    args = offline_args(
        entry["command"], [REAL / "two-kills-with-noise.kmsg"], ("--boot-time", "1764182000.5")
    )
    records = whole_records(read_like_in_exec(args, fluent_bit_size(entry["buf_size"])))
    assert records
    for record in records:
        assert record is not None
        parsed = datetime.strptime(record["time_of_death"], strptime_format(parser["time_format"]))
        assert parsed.isoformat(timespec="microseconds") + "Z" == record["time_of_death"]


def test_fluent_bit_buf_size_exceeds_every_real_record() -> None:
    """The configured buf_size is larger than the longest record of all real captures."""
    entry = configured_fluent_bit_input()
    args = offline_args(entry["command"], sorted(REAL.glob("*.kmsg")))
    chunks = read_like_in_exec(args, 1 << 24)
    assert chunks
    assert max(map(len, chunks)) < fluent_bit_size(entry["buf_size"]) - 1


# --- Vector --------------------------------------------------------------------------------------


def vector_exec_source() -> dict[str, Any]:
    return only([s for s in vector_yaml()["sources"].values() if s["type"] == "exec"])


def test_vector_exec_source_streams_and_respawns() -> None:
    """Vector's exec source runs oom-input in streaming mode and restarts it when it exits."""
    source = vector_exec_source()
    assert source["mode"] == "streaming"
    assert source["streaming"]["respawn_on_exit"] is True


def test_vector_exec_source_excludes_stderr() -> None:
    """Vector's exec source does not turn oom-input's stderr diagnostics into events."""
    assert vector_exec_source()["include_stderr"] is False


def test_vector_exec_source_decodes_json_lines_with_a_bound() -> None:
    """Vector decodes each newline-delimited line as JSON, lines bounded well above a record."""
    source = vector_exec_source()
    assert source["decoding"]["codec"] == "json"
    assert source["framing"]["method"] == "newline_delimited"
    assert source["framing"]["newline_delimited"]["max_length"] >= 64 * KIB


def test_vector_command_is_an_argv_list() -> None:
    """Vector's command is an argv list (Vector runs no shell)."""
    command = vector_exec_source()["command"]
    assert isinstance(command, list)
    assert all(isinstance(arg, str) and " " not in arg for arg in command)


def test_vector_routes_oom_records_to_their_own_sink() -> None:
    """A route sends `.event == "oom_kill"` to an output that a sink consumes."""
    config = vector_yaml()
    routes = {
        f"{name}.{route}"
        for name, transform in config["transforms"].items()
        if transform["type"] == "route"
        for route, condition in transform["route"].items()
        if re.fullmatch(r'\.event\s*==\s*"oom_kill"', condition.strip())
    }
    assert routes
    consumed = {i for sink in config["sinks"].values() for i in sink["inputs"]}
    assert routes & consumed


def test_vector_sets_timestamp_from_time_of_death() -> None:
    """A remap parses time_of_death into the event timestamp, handling a null one."""
    remaps = [t for t in vector_yaml()["transforms"].values() if t["type"] == "remap"]
    source = only(remaps)["source"]
    assert "parse_timestamp(.time_of_death" in source
    assert "err" in source


@pytest.mark.skipif(tomllib is None, reason="no TOML parser (Python 3.10 without tomli)")
def test_vector_toml_equals_vector_yaml() -> None:
    """vector.toml is the same configuration as vector.yaml."""
    assert tomllib.loads((CONFIGS / "vector.toml").read_text()) == vector_yaml()


# --- Fluentd -------------------------------------------------------------------------------------


def test_fluentd_exec_filters_respawn_their_child() -> None:
    """Every exec_filter restarts oom-input forever if it exits (child_respawn inf)."""
    filters = fluentd_blocks("match", "exec_filter")
    assert filters
    assert all(f.params["child_respawn"] in ("inf", "-1") for f in filters)


def test_fluentd_has_a_msgpack_exec_filter() -> None:
    """One exec_filter speaks msgpack both ways, and oom-input is told so."""
    msgpack = [
        f
        for f in fluentd_blocks("match", "exec_filter")
        if f.child("format").params["@type"] == "msgpack"
    ]
    block = only(msgpack)
    assert block.child("parse").params["@type"] == "msgpack"
    args = shlex.split(block.params["command"])
    assert args[args.index("--input-format") + 1] == "msgpack"
    assert args[args.index("--output-format") + 1] == "msgpack"


def test_fluentd_json_parse_does_not_hold_records_back() -> None:
    """Every JSON <parse> reading oom-input sets stream_buffer_size 1 (not Yajl's 8 KiB)."""
    blocks = [*fluentd_blocks("match", "exec_filter"), *fluentd_blocks("source", "exec")]
    json_parses = [b.child("parse") for b in blocks if b.child("parse").params["@type"] == "json"]
    assert json_parses
    assert all(p.params.get("stream_buffer_size") == "1" for p in json_parses)


def test_fluentd_extracts_time_of_death() -> None:
    """Each block reading oom-input takes the event time from time_of_death, kept, as UTC."""
    blocks = [*fluentd_blocks("match", "exec_filter"), *fluentd_blocks("source", "exec")]
    assert blocks
    for block in blocks:
        extract = block.child("extract").params
        assert extract["time_key"] == "time_of_death"
        assert extract["keep_time_key"] == "true"
        assert extract["time_type"] == "string"
        assert extract["time_format"] == "%Y-%m-%dT%H:%M:%S.%NZ"
        assert extract["utc"] == "true"


def test_fluentd_exec_filters_inject_the_event_time() -> None:
    """Each exec_filter injects the event time into what oom-input reads (key time, float)."""
    for block in fluentd_blocks("match", "exec_filter"):
        inject = block.child("inject").params
        assert inject == {"time_key": "time", "time_type": "float"}


def test_fluentd_outputs_have_a_tag() -> None:
    """Each block reading oom-input names the tag of the OOM records."""
    for block in [*fluentd_blocks("match", "exec_filter"), *fluentd_blocks("source", "exec")]:
        assert block.params["tag"] == "oom.kill"


def test_fluentd_exec_source_runs_live_kmsg_once() -> None:
    """The exec source runs oom-input --kmsg once, for as long as it runs (no run_interval)."""
    source = only(fluentd_blocks("source", "exec"))
    assert "--kmsg" in shlex.split(source.params["command"])
    assert "run_interval" not in source.params


def fluentd_filter(format_type: str) -> Directive:
    return only(
        [
            f
            for f in fluentd_blocks("match", "exec_filter")
            if f.child("format").params["@type"] == format_type
        ]
    )


def ruby_time_format(fluentd_format: str) -> str:
    """A Fluentd (Ruby strptime) time format as Python reads it (%N, fraction: %f)."""
    return fluentd_format.replace("%N", "%f")


@pytest.mark.parametrize("format_type", ["msgpack", "json"])
def test_fluentd_exec_filter_contract(format_type: str) -> None:
    """Kernel lines sent as <format> + <inject> write them come back as records <extract> reads."""
    block = fluentd_filter(format_type)
    lines = (REAL / "two-kills-with-noise.kmsg").read_text().splitlines()
    events = [{"message": line, "time": 1764182000.5 + i / 1000} for i, line in enumerate(lines)]
    if format_type == "msgpack":  # bare maps back to back
        payload = b"".join(msgpack.packb(event) for event in events)
    else:  # one JSON object per line
        payload = "".join(json.dumps(event) + "\n" for event in events).encode()
    runner = "import sys; from oom_input.cli import main; sys.exit(main())"
    args = shlex.split(block.params["command"])[1:]
    done = subprocess.run(
        [sys.executable, "-c", runner, *args], input=payload, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    if format_type == "msgpack":
        records = list(msgpack.Unpacker(io.BytesIO(done.stdout)))
    else:
        records = [json.loads(line) for line in done.stdout.splitlines()]
    extract = block.child("extract").params
    assert len(records) == 2
    for record in records:
        assert isinstance(record, dict) and record["event"] == "oom_kill"
        datetime.strptime(record[extract["time_key"]], ruby_time_format(extract["time_format"]))


def test_fluentd_parser_rejects_an_unclosed_block() -> None:
    """The test's Fluentd parser catches a block that is never closed."""
    with pytest.raises(ValueError, match="never closed"):
        parse_fluentd("<source>\n  @type exec\n")


def test_fluent_bit_parser_rejects_an_unindented_key() -> None:
    """The test's classic Fluent Bit parser catches a key outside a section's indentation."""
    with pytest.raises(ValueError, match="line 2"):
        parse_fluent_bit_classic("[INPUT]\nName exec\n")


# --- Kubernetes ----------------------------------------------------------------------------------


def test_kubernetes_manifests_have_kind_and_name() -> None:
    """Every manifest document has apiVersion, kind and metadata.name."""
    docs = kube_docs()
    assert docs
    for doc in docs:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"]


@pytest.mark.parametrize("name", ["daemonset.yaml", "fluent-bit-daemonset.yaml"])
def test_daemonset_selector_matches_template_labels(name: str) -> None:
    """The DaemonSet's selector selects its own pod template."""
    ds = only(kube_objects("DaemonSet", KUBE / name))
    selector = ds["spec"]["selector"]["matchLabels"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    assert selector and selector.items() <= labels.items()


def _volume_for(pod: dict[str, Any], mount_path: str) -> dict[str, Any]:
    (ctr,) = pod["containers"]
    mount = only([m for m in ctr["volumeMounts"] if m["mountPath"] == mount_path])
    return only([v for v in pod["volumes"] if v["name"] == mount["name"]])


@pytest.mark.parametrize("name", ["daemonset.yaml", "fluent-bit-daemonset.yaml"])
def test_daemonset_mounts_the_hosts_kmsg_device(name: str) -> None:
    """/dev/kmsg in the container is the host's, a hostPath of type CharDevice."""
    pod = only(kube_objects("DaemonSet", KUBE / name))["spec"]["template"]["spec"]
    assert _volume_for(pod, "/dev/kmsg")["hostPath"] == {"path": "/dev/kmsg", "type": "CharDevice"}


def test_daemonset_keeps_the_state_file_on_the_host() -> None:
    """The --state-file's directory is a hostPath volume, so restarts resume exactly once."""
    ctr = container(daemonset())
    state_file = ctr["args"][ctr["args"].index("--state-file") + 1]
    pod = daemonset()["spec"]["template"]["spec"]
    host_path = _volume_for(pod, str(Path(state_file).parent))["hostPath"]
    assert host_path["type"] == "DirectoryOrCreate"


@pytest.mark.parametrize("name", ["daemonset.yaml", "fluent-bit-daemonset.yaml"])
def test_daemonset_gets_node_name_from_the_downward_api(name: str) -> None:
    """NODE_NAME comes from the pod's spec.nodeName."""
    ds = only(kube_objects("DaemonSet", KUBE / name))
    env = {e["name"]: e for e in container(ds)["env"]}
    assert env["NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}


@pytest.mark.parametrize("name", ["daemonset.yaml", "fluent-bit-daemonset.yaml"])
def test_daemonset_runs_on_every_node(name: str) -> None:
    """The DaemonSet tolerates every taint and is node-critical."""
    pod = only(kube_objects("DaemonSet", KUBE / name))["spec"]["template"]["spec"]
    assert {"operator": "Exists"} in pod["tolerations"]
    assert pod["priorityClassName"] == "system-node-critical"


@pytest.mark.parametrize("name", ["daemonset.yaml", "fluent-bit-daemonset.yaml"])
def test_daemonset_is_privileged_root_for_kmsg(name: str) -> None:
    """The container is privileged (device cgroup) and UID 0, in a namespace allowing it."""
    path = KUBE / name
    ds = only(kube_objects("DaemonSet", path))
    context = container(ds)["securityContext"]
    assert context["privileged"] is True
    assert context["runAsUser"] == 0
    namespace = only(kube_objects("Namespace", path))
    assert namespace["metadata"]["name"] == ds["metadata"]["namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_daemonset_has_resource_requests_and_limits() -> None:
    """oom-input's container has CPU and memory requests and limits, requests <= limits."""
    resources = container(daemonset())["resources"]
    mebibytes = {k: int(resources[k]["memory"].removesuffix("Mi")) for k in ("requests", "limits")}
    millicores = {k: int(resources[k]["cpu"].removesuffix("m")) for k in ("requests", "limits")}
    assert 0 < mebibytes["requests"] <= mebibytes["limits"]
    assert 0 < millicores["requests"] <= millicores["limits"]


def test_daemonset_uses_the_service_account() -> None:
    """The DaemonSet runs as the ServiceAccount of serviceaccount.yaml, in its namespace."""
    account = only(kube_objects("ServiceAccount", KUBE / "serviceaccount.yaml"))
    ds = daemonset()
    assert ds["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    assert ds["metadata"]["namespace"] == account["metadata"]["namespace"]


def test_daemonset_posts_events() -> None:
    """The DaemonSet's oom-input posts Events (the reason for its ServiceAccount and RBAC)."""
    assert "--events" in container(daemonset())["args"]


def test_cluster_role_grants_exactly_what_events_use() -> None:
    """The ClusterRole's rules equal oom_input.events.RBAC_RULES, nothing more or less."""
    events = pytest.importorskip("oom_input.events")
    role = only(kube_objects("ClusterRole", KUBE / "rbac.yaml"))
    assert role["rules"] == [dict(rule) for rule in events.RBAC_RULES]


def test_cluster_role_binding_binds_the_role_to_the_service_account() -> None:
    """The ClusterRoleBinding binds that ClusterRole to oom-input's ServiceAccount."""
    role = only(kube_objects("ClusterRole", KUBE / "rbac.yaml"))
    binding = only(kube_objects("ClusterRoleBinding", KUBE / "rbac.yaml"))
    account = only(kube_objects("ServiceAccount", KUBE / "serviceaccount.yaml"))
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": account["metadata"]["name"],
            "namespace": account["metadata"]["namespace"],
        }
    ]


def test_fluent_bit_daemonset_mounts_its_config() -> None:
    """The Fluent Bit variant mounts its ConfigMap where its -c argument points."""
    path = KUBE / "fluent-bit-daemonset.yaml"
    ds = only(kube_objects("DaemonSet", path))
    configmap = only(kube_objects("ConfigMap", path))
    args = container(ds)["args"]
    config_path = Path(args[args.index("-c") + 1])
    pod = ds["spec"]["template"]["spec"]
    volume = _volume_for(pod, str(config_path.parent))
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    assert config_path.name in configmap["data"]


# --- Dockerfile ----------------------------------------------------------------------------------


def stages(path: Path) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (from one FROM to the next)."""
    result: list[list[tuple[str, str]]] = []
    for instruction in dockerfile_instructions(path.read_text()):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def test_dockerfile_is_multi_stage_on_slim_python() -> None:
    """The Dockerfile builds in one stage and ships a python:3.12-slim stage."""
    built = stages(ROOT / "Dockerfile")
    assert len(built) >= 2
    assert built[-1][0][1].split()[0] == "python:3.12-slim"


def test_dockerfile_final_stage_has_no_build_tools() -> None:
    """The final stage installs no compiler or build packages and builds no wheel."""
    final = " ".join(args for word, args in stages(ROOT / "Dockerfile")[-1] if word == "RUN")
    assert not re.search(r"\b(gcc|g\+\+|build-essential|make|apt-get install)\b", final)
    assert "pip wheel" not in final


def test_dockerfile_entrypoint_is_oom_input() -> None:
    """The image's ENTRYPOINT is oom-input (exec form), so DaemonSet args are its options."""
    entrypoint, _ = dockerfile_entrypoint_and_cmd(ROOT / "Dockerfile")
    assert entrypoint == [PROGRAM]


def test_dockerignore_keeps_the_build_context_small() -> None:
    """.dockerignore excludes everything but what the image builds from."""
    lines = (ROOT / ".dockerignore").read_text().split()
    assert "*" in lines
    assert {"!pyproject.toml", "!README.md", "!oom_input/"} <= set(lines)


def test_daemonset_mounts_the_kubelet_log_directories_read_only() -> None:
    """/var/log/pods and /var/log/containers (the pod metadata source that needs no API rights)
    are the host's, read-only, where --kubelet-log-dir's default looks."""
    from oom_input.pods.options import DEFAULT_KUBELET_LOG_DIR

    ctr = container(daemonset())
    assert "--kubelet-log-dir" not in ctr["args"]
    pod = daemonset()["spec"]["template"]["spec"]
    for sub in ("pods", "containers"):
        path = f"{DEFAULT_KUBELET_LOG_DIR}/{sub}"
        mount = only([m for m in ctr["volumeMounts"] if m["mountPath"] == path])
        assert mount["readOnly"] is True
        assert _volume_for(pod, path)["hostPath"] == {"path": path, "type": "Directory"}


def test_configs_route_on_the_kubernetes_namespace() -> None:
    """Vector and Fluent Bit show a route on kubernetes.namespace_name."""
    assert any(
        ".kubernetes.namespace_name ==" in condition
        for transform in vector_yaml()["transforms"].values()
        if transform["type"] == "route"
        for condition in transform["route"].values()
    )
    for name in ("fluent-bit.yaml", "fluent-bit.conf"):
        assert "$kubernetes['namespace_name']" in (CONFIGS / name).read_text()


# --- every key is one its agent documents --------------------------------------------------------
# The keys each plugin takes, as their current documentation lists them (a typo or a key a
# release dropped is then a test failure, not a setting the agent silently ignores or refuses):
# Fluent Bit 4.x/5.0 manual (docs.fluentbit.io: data-pipeline/inputs/exec, filters/rewrite-tag,
# outputs/stdout, outputs/http, parsers/configuring-parser, administration/configuring-fluent-bit
# service section, administration/multithreading for `threaded`); Fluentd v1 (docs.fluentd.org:
# input/exec, input/forward, output/exec_filter, output/stdout, output/http, parser/json,
# parser/msgpack, formatter/json, formatter/msgpack, configuration/{inject,extract,buffer}-section);
# Vector (vector.dev/docs/reference/configuration: sources/exec, transforms/remap,
# transforms/route, sinks/console, sinks/blackhole, sinks/http). Keys lower-cased.
_FLUENT_BIT_COMMON = {"name", "alias", "log_level"}
FLUENT_BIT_KEYS: dict[tuple[str, str], set[str]] = {
    ("SERVICE", ""): {"flush", "grace", "daemon", "log_file", "log_level", "parsers_file",
                      "plugins_file", "http_server", "http_listen", "http_port", "hot_reload"},
    ("INPUT", "exec"): _FLUENT_BIT_COMMON | {
        "tag", "threaded", "mem_buf_limit", "storage.type", "command", "parser", "interval_sec",
        "interval_nsec", "buf_size", "oneshot", "exit_after_oneshot", "propagate_exit_code"},
    ("FILTER", "rewrite_tag"): _FLUENT_BIT_COMMON | {
        "match", "match_regex", "rule", "emitter_name", "emitter_storage.type",
        "emitter_mem_buf_limit"},
    ("OUTPUT", "stdout"): _FLUENT_BIT_COMMON | {
        "match", "match_regex", "format", "json_date_key", "json_date_format", "workers"},
    ("OUTPUT", "http"): _FLUENT_BIT_COMMON | {
        "match", "match_regex", "host", "port", "uri", "format", "tls", "tls.verify", "header",
        "http_user", "http_passwd", "compress", "json_date_key", "json_date_format", "workers",
        "retry_limit"},
    ("PARSER", ""): {"name", "format", "regex", "time_key", "time_format", "time_keep",
                     "time_offset", "time_strict", "types", "decode_field", "decode_field_as",
                     "skip_empty_values"},
}  # fmt: skip
FLUENTD_TIME_KEYS = {"time_type", "time_format", "localtime", "utc", "timezone"}
FLUENTD_KEYS: dict[tuple[str, str], set[str]] = {
    ("source", "exec"): {"@type", "@id", "@label", "tag", "command", "run_interval"},
    ("source", "forward"): {"@type", "@id", "@label", "port", "bind", "linger_timeout",
                            "skip_invalid_event", "source_hostname_key"},
    ("match", "exec_filter"): {"@type", "@id", "@label", "command", "tag", "child_respawn",
                               "num_children", "read_block_size", "suppress_error_log_interval"},
    ("match", "stdout"): {"@type", "@id", "output_type"},
    ("match", "http"): {"@type", "@id", "endpoint", "http_method", "content_type", "json_array",
                        "headers", "open_timeout", "read_timeout"},
    ("parse", "json"): {"@type", "json_parser", "stream_buffer_size", "time_key",
                        "keep_time_key", *FLUENTD_TIME_KEYS},
    ("parse", "msgpack"): {"@type", "time_key", "keep_time_key", *FLUENTD_TIME_KEYS},
    ("format", "json"): {"@type", "json_parser", "add_newline"},
    ("format", "msgpack"): {"@type"},
    ("inject", ""): {"time_key", "tag_key", "hostname_key", "hostname", *FLUENTD_TIME_KEYS},
    ("extract", ""): {"time_key", "keep_time_key", "tag_key", "keep_tag_key", *FLUENTD_TIME_KEYS},
    ("buffer", ""): {"@type", "flush_mode", "flush_interval", "flush_at_shutdown",
                     "chunk_limit_size", "total_limit_size", "retry_max_times"},
}  # fmt: skip
# Vector: the keys of each component type, a nested table's keys under "<table>.<key>"
VECTOR_KEYS: dict[str, set[str]] = {
    "exec": {"type", "command", "mode", "include_stderr", "environment", "clear_environment",
             "working_directory", "maximum_buffer_size_bytes", "streaming.respawn_on_exit",
             "streaming.respawn_interval_secs", "scheduled.exec_interval_secs", "framing.method",
             "framing.newline_delimited.max_length", "decoding.codec"},
    "remap": {"type", "inputs", "source", "file", "drop_on_error", "drop_on_abort",
              "reroute_dropped", "timezone"},
    # route's `route` table holds the user's route names
    "route": {"type", "inputs", "route.*", "reroute_unmatched"},
    "console": {"type", "inputs", "target", "encoding.codec", "framing.method"},
    "blackhole": {"type", "inputs", "print_interval_secs", "rate"},
    "http": {"type", "inputs", "uri", "method", "encoding.codec", "framing.method",
             "compression"},
}  # fmt: skip

# commented-out classic Fluent Bit and Fluentd blocks (examples a user uncomments): from a
# commented section header or opening tag to the end of the commented block
COMMENTED_FLUENT_BIT = re.compile(r"^# \[[A-Z]+\]\n(?:#     \S.*\n)+", re.MULTILINE)
COMMENTED_FLUENTD = re.compile(r"^# <([a-z_]+)[^\n]*>\n(?:#  [^\n]*\n)*?# </\1>\n", re.MULTILINE)


def _uncommented(text: str, block: re.Pattern[str]) -> str:
    return "".join(
        line[2:] + "\n" for match in block.finditer(text) for line in match.group(0).splitlines()
    )


def _fluent_bit_sections() -> Iterator[tuple[str, str, str, dict[str, str]]]:
    """(where, section, plugin, entries) of every classic and YAML Fluent Bit config."""
    for path in sorted(CONFIGS.glob("*.conf")):
        if path.name == "fluentd.conf":
            continue
        text = path.read_text()
        for where, source in ((path.name, text), (f"{path.name} (comments)", _uncommented(
                text, COMMENTED_FLUENT_BIT))):  # fmt: skip
            for section in parse_fluent_bit_classic(source):
                plugin = "" if section.name in ("SERVICE", "PARSER") else section.entries["name"]
                yield where, section.name, plugin, section.entries
    yamls = [("fluent-bit.yaml", yaml.safe_load((CONFIGS / "fluent-bit.yaml").read_text()))]
    yamls.append(("fluent-bit-daemonset.yaml ConfigMap", fluent_bit_configmap()))
    for where, config in yamls:
        yield where, "SERVICE", "", {str(k).lower(): v for k, v in config["service"].items()}
        for parser in config.get("parsers", []):
            yield where, "PARSER", "", {str(k).lower(): v for k, v in parser.items()}
        for kind in ("inputs", "filters", "outputs"):
            for entry in config["pipeline"].get(kind, []):
                entries = {str(k).lower(): v for k, v in entry.items()}
                yield where, kind[:-1].upper(), entry["name"], entries


def _fluentd_directives() -> Iterator[tuple[str, Directive]]:
    text = (CONFIGS / "fluentd.conf").read_text()
    for where, source in (("fluentd.conf", text),
                          ("fluentd.conf (comments)", _uncommented(text, COMMENTED_FLUENTD))):  # fmt: skip
        stack = list(parse_fluentd(source).children)
        while stack:
            directive = stack.pop()
            stack.extend(directive.children)
            yield where, directive


def _flat_keys(table: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in table.items():
        if isinstance(value, dict) and key not in ("environment",):
            yield from _flat_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_fluent_bit_keys_are_documented() -> None:
    """Every key of every Fluent Bit section (commented examples too) is one the plugin takes."""
    seen = set()
    for where, section, plugin, entries in _fluent_bit_sections():
        known = FLUENT_BIT_KEYS.get((section, plugin))
        assert known is not None, f"{where}: [{section}] {plugin}: no documented keys listed"
        assert set(entries) <= known, f"{where}: [{section}] {plugin}: {set(entries) - known}"
        seen.add((section, plugin))
    assert seen == set(FLUENT_BIT_KEYS)  # each listed plugin is used (the list stays exact)


def test_fluentd_keys_are_documented() -> None:
    """Every parameter of every Fluentd block (commented examples too) is one it takes."""
    seen = set()
    for where, directive in _fluentd_directives():
        plugin = directive.params.get("@type", "")
        if directive.name in ("inject", "extract", "buffer"):
            plugin = ""
        known = FLUENTD_KEYS.get((directive.name, plugin))
        assert known is not None, f"{where}: <{directive.name}> {plugin}: no documented keys"
        unknown = set(directive.params) - known
        assert not unknown, f"{where}: <{directive.name} {directive.arg}> {plugin}: {unknown}"
        seen.add((directive.name, plugin))
    assert seen == set(FLUENTD_KEYS)


@pytest.mark.parametrize("name", ["vector.yaml", "vector.toml"])
def test_vector_keys_are_documented(name: str) -> None:
    """Every key of every Vector component is one its type documents."""
    text = (CONFIGS / name).read_text()
    if name.endswith(".toml"):
        if tomllib is None:
            pytest.skip("no TOML parser (Python 3.10 without tomli)")
        config = tomllib.loads(text)
    else:
        config = yaml.safe_load(text)
    seen = set()
    for kind in ("sources", "transforms", "sinks"):
        for component_id, component in config[kind].items():
            known = VECTOR_KEYS.get(component["type"])
            assert known is not None, f"{name}: {component_id}: type {component['type']}"
            for key in _flat_keys(component):
                wildcard = key.split(".")[0] + ".*"
                assert key in known or wildcard in known, f"{name}: {component_id}: {key}"
            seen.add(component["type"])
    assert seen == set(VECTOR_KEYS) - {"http"}  # http: only in a commented example
