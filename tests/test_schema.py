"""The published record schema (schemas/oom-record.schema.json)."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from oom_input.types import RECORD_FIELDS, OomRecord
from schema_util import load_record_schema, validate_record

UID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
CID = "3f9c2a7be1d04c56a8b9e0f1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f"


def _default(**changes: Any) -> dict[str, Any]:
    record = OomRecord(time_of_death="2025-11-26T18:37:34.798531Z").as_dict()
    record.update(changes)
    return record


def _full() -> dict[str, Any]:
    """A record with every field filled, as from a 5.x memcg kill in a Kubernetes container."""
    return OomRecord(
        time_of_death="2025-11-26T18:37:34.798531Z",
        kernel_time_us=1195453779,
        host="node-a",
        boot_id="5a1b2c3d4e5f40718293a4b5c6d7e8f9",
        pid=3172,
        process_name="node (worker), 1",
        container_name=f"/kubepods/burstable/pod{UID}/{CID}",
        victim_container_name=f"/kubepods/burstable/pod{UID}/{CID}",
        constraint="CONSTRAINT_MEMCG",
        kind="memcg",
        uid=0,
        oom_score_adj=-998,
        total_vm_kb=1000,
        anon_rss_kb=900,
        file_rss_kb=10,
        shmem_rss_kb=0,
        pgtables_kb=120,
        trigger_process_name="node",
        trigger_pid=3172,
        gfp_mask="0xcc0(GFP_KERNEL)",
        order=0,
        memory_usage_kb=57344,
        memory_limit_kb=57344,
        memory_failcnt=12,
        pod_uid=UID,
        container_id=CID,
        qos_class="burstable",
        container_runtime=None,
        complete=True,
        seq_first=1002,
        seq_last=1048,
        source_format="kmsg",
    ).as_dict()


class TestSchemaItself:
    def test_is_a_valid_2020_12_schema(self) -> None:
        """The schema passes the draft 2020-12 metaschema."""
        Draft202012Validator.check_schema(load_record_schema())

    def test_declares_draft_2020_12(self) -> None:
        """$schema names draft 2020-12."""
        expected = "https://json-schema.org/draft/2020-12/schema"
        assert expected == load_record_schema()["$schema"]

    def test_required_is_record_fields_in_order(self) -> None:
        """required lists every OomRecord field, in the record's order."""
        assert list(RECORD_FIELDS) == load_record_schema()["required"]

    def test_properties_are_record_fields_in_order(self) -> None:
        """properties describe exactly the OomRecord fields, in order."""
        assert list(RECORD_FIELDS) == list(load_record_schema()["properties"])

    def test_no_additional_properties(self) -> None:
        """Keys outside the contract are rejected."""
        assert False is load_record_schema()["additionalProperties"]

    def test_every_property_is_described(self) -> None:
        """Every property carries a non-empty description."""
        properties = load_record_schema()["properties"]
        undescribed = [name for name, spec in properties.items() if not spec.get("description")]
        expected: list[str] = []
        assert expected == undescribed


class TestValidRecords:
    def test_default_record(self) -> None:
        """A default OomRecord with a time validates."""
        validate_record(_default())

    def test_default_record_without_time(self) -> None:
        """A record with no wall time (raw kmsg without --boot-time) validates."""
        validate_record(OomRecord().as_dict())

    def test_full_record(self) -> None:
        """A record with every field filled validates."""
        validate_record(_full())

    def test_system_oom(self) -> None:
        """A system OOM record ("/" victim cgroup, kind system) validates."""
        validate_record(_default(victim_container_name="/", kind="system", order=-1))

    def test_every_runtime(self) -> None:
        """Each container runtime value validates."""
        for runtime in ("containerd", "cri-o", "docker", None):
            validate_record(_default(container_runtime=runtime))


INVALID = {
    "time without microseconds": {"time_of_death": "2025-11-26T18:37:34Z"},
    "time with an offset": {"time_of_death": "2025-11-26T18:37:34.798531+00:00"},
    "time with a space": {"time_of_death": "2025-11-26 18:37:34.798531Z"},
    "unknown kind": {"kind": "kernel"},
    "other event": {"event": "oom"},
    "63-hex container id": {"container_id": CID[:-1]},
    "uppercase container id": {"container_id": CID.upper()},
    "partly dashed pod uid": {"pod_uid": UID.replace("-", "", 2)},
    "31-hex pod uid": {"pod_uid": UID.replace("-", "")[:-1]},
    "unknown qos": {"qos_class": "Burstable"},
    "unknown runtime": {"container_runtime": "podman"},
    "empty container_name": {"container_name": ""},
    "bad constraint": {"constraint": "MEMCG"},
    "oom_score_adj out of range": {"oom_score_adj": 1001},
    "negative pid": {"pid": -1},
    "string pid": {"pid": "3172"},
    "boolean as integer": {"complete": 1},
    "gfp mask not hex": {"gfp_mask": "GFP_KERNEL"},
}


class TestInvalidRecords:
    @pytest.mark.parametrize("changes", INVALID.values(), ids=INVALID.keys())
    def test_bad_value_fails(self, changes: dict[str, Any]) -> None:
        """A value outside the contract fails validation."""
        with pytest.raises(ValidationError):
            validate_record(_default(**changes))

    def test_extra_key_fails(self) -> None:
        """A key outside the contract fails validation."""
        with pytest.raises(ValidationError):
            validate_record(_default(extra="x"))

    def test_missing_key_fails(self) -> None:
        """A record lacking any one key fails validation."""
        record = _default()
        del record["victim_container_name"]
        with pytest.raises(ValidationError):
            validate_record(record)
