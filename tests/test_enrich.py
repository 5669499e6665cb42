"""Kubernetes attribution from cgroup paths (oom_input.enrich)."""

from __future__ import annotations

import re

import pytest
from helpers import DATA, run_pipeline

from oom_input.enrich import PodAttribution, attribute_cgroup, kubernetes_enricher
from oom_input.types import OomRecord

UID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
UID_ = UID.replace("-", "_")
CID = "3f9c2a7be1d04c56a8b9e0f1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f"
NODE = "aa" * 32  # the kind node's own docker container id

NOTHING = PodAttribution(None, None, None, None)

# From the real captures in /work/shared/samples/ (Linux 6.18, cgroup v1, test prefix /machine).
REAL_CGROUPFS_POD = "/machine/kubepods/pod99887766-5544-3322-1100-ffeeddccbbaa"
REAL_CGROUPFS_TASK = REAL_CGROUPFS_POD + "/" + "12ab" * 16
REAL_SYSTEMD_TASK = (
    "/machine/kubepods-besteffort-pod11223344_5566_7788_99aa_bbccddeeff00.slice/"
    "cri-containerd-" + "f0e1d2c3" * 8 + ".scope"
)


class TestCgroupfsDriver:
    def test_guaranteed_container(self) -> None:
        """A container directly under kubepods/pod<uid> is Guaranteed, runtime unknown."""
        expected = PodAttribution(UID, CID, "guaranteed", None)
        assert expected == attribute_cgroup(f"/kubepods/pod{UID}/{CID}")

    def test_burstable_container(self) -> None:
        """kubepods/burstable/pod<uid>/<id> is a Burstable container."""
        expected = PodAttribution(UID, CID, "burstable", None)
        assert expected == attribute_cgroup(f"/kubepods/burstable/pod{UID}/{CID}")

    def test_besteffort_container(self) -> None:
        """kubepods/besteffort/pod<uid>/<id> is a BestEffort container."""
        expected = PodAttribution(UID, CID, "besteffort", None)
        assert expected == attribute_cgroup(f"/kubepods/besteffort/pod{UID}/{CID}")

    def test_crio_leaf_gives_cri_o(self) -> None:
        """cri-o with the cgroupfs driver names the leaf crio-<id>."""
        expected = PodAttribution(UID, CID, "burstable", "cri-o")
        assert expected == attribute_cgroup(f"/kubepods/burstable/pod{UID}/crio-{CID}")

    def test_crio_conmon_is_not_a_container(self) -> None:
        """cri-o's crio-conmon-<id> leaf attributes the pod but no container."""
        expected = PodAttribution(UID, None, "burstable", None)
        assert expected == attribute_cgroup(f"/kubepods/burstable/pod{UID}/crio-conmon-{CID}")

    def test_pod_level_cgroup(self) -> None:
        """A pod cgroup with no container segment gives pod and QoS only."""
        expected = PodAttribution(UID, None, "besteffort", None)
        assert expected == attribute_cgroup(f"/kubepods/besteffort/pod{UID}")

    def test_qos_level_cgroup_is_nothing(self) -> None:
        """The QoS directory itself belongs to no pod."""
        expected = NOTHING
        assert expected == attribute_cgroup("/kubepods/burstable")

    def test_subcgroup_inside_container(self) -> None:
        """A cgroup below the container directory still belongs to that container."""
        expected = PodAttribution(UID, CID, "burstable", None)
        assert expected == attribute_cgroup(f"/kubepods/burstable/pod{UID}/{CID}/init")

    def test_real_capture_container(self) -> None:
        """The task cgroup of the real cgroupfs capture names pod and container."""
        expected = PodAttribution(
            "99887766-5544-3322-1100-ffeeddccbbaa", "12ab" * 16, "guaranteed", None
        )
        assert expected == attribute_cgroup(REAL_CGROUPFS_TASK)

    def test_real_capture_pod(self) -> None:
        """The OOM cgroup of the real cgroupfs capture names the Guaranteed pod."""
        expected = PodAttribution("99887766-5544-3322-1100-ffeeddccbbaa", None, "guaranteed", None)
        assert expected == attribute_cgroup(REAL_CGROUPFS_POD)

    def test_kind_node_nested_in_docker(self) -> None:
        """A kind node's cgroupfs tree under /docker/<node> is attributed to the inner container."""
        expected = PodAttribution(UID, CID, "besteffort", None)
        path = f"/docker/{NODE}/kubelet/kubepods/besteffort/pod{UID}/{CID}"
        assert expected == attribute_cgroup(path)

    def test_pod_dir_outside_kubepods_is_nothing(self) -> None:
        """pod<uid> not directly under kubepods[/<qos>] is not a kubelet pod."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/user/pod{UID}/{CID}")

    def test_unknown_qos_dir_is_nothing(self) -> None:
        """A QoS directory other than burstable/besteffort is not the kubelet's."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/kubepods/guaranteed/pod{UID}/{CID}")

    def test_systemd_scope_under_cgroupfs_pod_is_no_container(self) -> None:
        """Each driver's container shape only counts under that driver's pod shape."""
        expected = PodAttribution(UID, None, "burstable", None)
        path = f"/kubepods/burstable/pod{UID}/cri-containerd-{CID}.scope"
        assert expected == attribute_cgroup(path)


class TestSystemdDriver:
    def test_guaranteed_containerd(self) -> None:
        """kubepods-pod<uid_>.slice directly under kubepods.slice is Guaranteed."""
        expected = PodAttribution(UID, CID, "guaranteed", "containerd")
        path = f"/kubepods.slice/kubepods-pod{UID_}.slice/cri-containerd-{CID}.scope"
        assert expected == attribute_cgroup(path)

    def test_burstable_containerd(self) -> None:
        """A cri-containerd scope in a Burstable pod slice gives containerd."""
        expected = PodAttribution(UID, CID, "burstable", "containerd")
        path = (
            "/kubepods.slice/kubepods-burstable.slice/"
            f"kubepods-burstable-pod{UID_}.slice/cri-containerd-{CID}.scope"
        )
        assert expected == attribute_cgroup(path)

    def test_besteffort_crio(self) -> None:
        """A crio scope in a BestEffort pod slice gives cri-o."""
        expected = PodAttribution(UID, CID, "besteffort", "cri-o")
        path = (
            "/kubepods.slice/kubepods-besteffort.slice/"
            f"kubepods-besteffort-pod{UID_}.slice/crio-{CID}.scope"
        )
        assert expected == attribute_cgroup(path)

    def test_burstable_docker(self) -> None:
        """A docker scope in a pod slice gives docker."""
        expected = PodAttribution(UID, CID, "burstable", "docker")
        path = (
            "/kubepods.slice/kubepods-burstable.slice/"
            f"kubepods-burstable-pod{UID_}.slice/docker-{CID}.scope"
        )
        assert expected == attribute_cgroup(path)

    def test_crio_conmon_is_not_a_container(self) -> None:
        """crio-conmon-<id>.scope attributes the pod but no container."""
        expected = PodAttribution(UID, None, "burstable", None)
        path = (
            "/kubepods.slice/kubepods-burstable.slice/"
            f"kubepods-burstable-pod{UID_}.slice/crio-conmon-{CID}.scope"
        )
        assert expected == attribute_cgroup(path)

    def test_pod_level_slice(self) -> None:
        """A pod slice with no container scope gives pod and QoS only."""
        expected = PodAttribution(UID, None, "burstable", None)
        path = f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice"
        assert expected == attribute_cgroup(path)

    def test_qos_level_slice_is_nothing(self) -> None:
        """The QoS slice itself belongs to no pod."""
        expected = NOTHING
        assert expected == attribute_cgroup("/kubepods.slice/kubepods-burstable.slice")

    def test_v2_subcgroup_inside_scope(self) -> None:
        """A v2 sub-cgroup below the container scope (crun's `container`) keeps the container."""
        expected = PodAttribution(UID, CID, "burstable", "cri-o")
        path = (
            "/kubepods.slice/kubepods-burstable.slice/"
            f"kubepods-burstable-pod{UID_}.slice/crio-{CID}.scope/container"
        )
        assert expected == attribute_cgroup(path)

    def test_real_capture(self) -> None:
        """The real systemd-style capture names the BestEffort containerd container."""
        expected = PodAttribution(
            "11223344-5566-7788-99aa-bbccddeeff00", "f0e1d2c3" * 8, "besteffort", "containerd"
        )
        assert expected == attribute_cgroup(REAL_SYSTEMD_TASK)

    def test_kind_nested_in_docker_scope(self) -> None:
        """On kind, the container is the scope inside the pod slice, not the node's scope."""
        expected = PodAttribution(UID, CID, "besteffort", "containerd")
        path = (
            f"/system.slice/docker-{NODE}.scope/kubelet.slice/kubelet-kubepods.slice/"
            "kubelet-kubepods-besteffort.slice/"
            f"kubelet-kubepods-besteffort-pod{UID_}.slice/cri-containerd-{CID}.scope"
        )
        assert expected == attribute_cgroup(path)

    def test_kind_guaranteed(self) -> None:
        """kind's Guaranteed pod slice sits directly in kubelet-kubepods.slice."""
        expected = PodAttribution(UID, CID, "guaranteed", "containerd")
        path = (
            f"/system.slice/docker-{NODE}.scope/kubelet.slice/kubelet-kubepods.slice/"
            f"kubelet-kubepods-pod{UID_}.slice/cri-containerd-{CID}.scope"
        )
        assert expected == attribute_cgroup(path)

    def test_kind_node_service_is_the_node_container(self) -> None:
        """A kind node's own service (no pod) is attributed to the node's docker container."""
        expected = PodAttribution(None, NODE, None, "docker")
        path = f"/system.slice/docker-{NODE}.scope/system.slice/containerd.service"
        assert expected == attribute_cgroup(path)

    def test_bare_id_under_systemd_pod_is_no_container(self) -> None:
        """A cgroupfs-style bare id under a systemd pod slice is not a container."""
        expected = PodAttribution(UID, None, "burstable", None)
        path = f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/{CID}"
        assert expected == attribute_cgroup(path)


class TestDockerOutsideKubernetes:
    def test_systemd_scope(self) -> None:
        """A bare docker-<id>.scope gives the docker container with no pod."""
        expected = PodAttribution(None, CID, None, "docker")
        assert expected == attribute_cgroup(f"/system.slice/docker-{CID}.scope")

    def test_cgroupfs_dir(self) -> None:
        """/docker/<id> gives the docker container with no pod."""
        expected = PodAttribution(None, CID, None, "docker")
        assert expected == attribute_cgroup(f"/docker/{CID}")

    def test_docker_in_docker_gives_outer(self) -> None:
        """Docker-in-docker is attributed to the host's (outer) container."""
        expected = PodAttribution(None, NODE, None, "docker")
        assert expected == attribute_cgroup(f"/docker/{NODE}/docker/{CID}")

    def test_docker_parent_without_id_is_nothing(self) -> None:
        """The /docker parent cgroup itself is no container."""
        expected = NOTHING
        assert expected == attribute_cgroup("/docker")


class TestNothing:
    @pytest.mark.parametrize("path", [None, "", "/", "/system.slice/sshd.service", "/machine/demo"])
    def test_non_kube_paths(self, path: str | None) -> None:
        """None, empty, the root and ordinary cgroups attribute nothing."""
        expected = NOTHING
        assert expected == attribute_cgroup(path)

    def test_relative_path_is_nothing(self) -> None:
        """A path not starting with / is not a kernel cgroup path."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"kubepods/pod{UID}/{CID}")


class TestAdversarial:
    def test_pod_not_a_uid(self) -> None:
        """podnot-a-uid is no pod."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/kubepods/burstable/podnot-a-uid/{CID}")

    def test_uid_neither_dashed_nor_static_is_no_pod(self) -> None:
        """A uid that is neither 8-4-4-4-12 nor a static pod's 32 hex is no pod."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/kubepods/pod{UID.replace('-', '')[:-1]}/{CID}")
        assert expected == attribute_cgroup(f"/kubepods/pod{UID.replace('-', '', 2)}/{CID}")

    def test_uppercase_uid_is_no_pod(self) -> None:
        """The kubelet writes lowercase uids; uppercase is not its shape."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/kubepods/pod{UID.upper()}/{CID}")

    def test_uid_with_extra_hex_is_no_pod(self) -> None:
        """A uid with one more character in its last group is no pod."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/kubepods/pod{UID}0/{CID}")

    def test_dashed_uid_in_systemd_slice_is_no_pod(self) -> None:
        """A systemd pod slice must spell the uid with underscores."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/kubepods.slice/kubepods-burstable-pod{UID}.slice")

    def test_underscored_uid_in_cgroupfs_is_no_pod(self) -> None:
        """A cgroupfs pod directory must spell the uid with dashes."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/kubepods/pod{UID_}/{CID}")

    def test_63_hex_id_is_no_container(self) -> None:
        """A 63-hex container id is not attributed."""
        expected = PodAttribution(UID, None, "burstable", None)
        assert expected == attribute_cgroup(f"/kubepods/burstable/pod{UID}/{CID[:-1]}")

    def test_65_hex_id_is_no_container(self) -> None:
        """A 65-hex container id is not attributed."""
        expected = PodAttribution(UID, None, "burstable", None)
        assert expected == attribute_cgroup(f"/kubepods/burstable/pod{UID}/{CID}0")

    def test_63_hex_scope_is_no_container(self) -> None:
        """A 63-hex systemd scope is not attributed."""
        expected = PodAttribution(UID, None, "burstable", None)
        path = f"/kubepods-burstable-pod{UID_}.slice/cri-containerd-{CID[:-1]}.scope"
        assert expected == attribute_cgroup(path)

    def test_63_hex_docker_scope_is_nothing(self) -> None:
        """A 63-hex docker scope outside Kubernetes is not attributed."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/system.slice/docker-{CID[:-1]}.scope")

    def test_uppercase_id_is_no_container(self) -> None:
        """Container ids are lowercase hex."""
        expected = PodAttribution(UID, None, "burstable", None)
        assert expected == attribute_cgroup(f"/kubepods/burstable/pod{UID}/{CID.upper()}")

    def test_slice_with_trailing_text_is_no_pod(self) -> None:
        """kubepods-burstable-pod<uid>.slice.evil is no pod slice."""
        path = f"/kubepods.slice/kubepods-burstable-pod{UID_}.slice.evil/cri-containerd-{CID}.scope"
        expected = NOTHING
        assert expected == attribute_cgroup(path)

    def test_slice_with_leading_text_is_no_pod(self) -> None:
        """evil-kubepods-burstable-pod<uid>.slice is no pod slice."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/evil-kubepods-burstable-pod{UID_}.slice")

    def test_scope_with_trailing_text_is_no_container(self) -> None:
        """cri-containerd-<id>.scope.evil is no container."""
        expected = PodAttribution(UID, None, "burstable", None)
        path = f"/kubepods-burstable-pod{UID_}.slice/cri-containerd-{CID}.scope.evil"
        assert expected == attribute_cgroup(path)

    def test_uid_inside_another_segment_is_no_pod(self) -> None:
        """A uid-like text inside a user-named segment is not a pod."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/user.slice/my-kubepods-pod{UID}-app/{CID}")

    def test_pod_dir_with_suffix_is_no_pod(self) -> None:
        """pod<uid>x is no pod directory."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/kubepods/pod{UID}x/{CID}")

    def test_kubepods_lookalike_parent_is_no_pod(self) -> None:
        """A parent merely containing 'kubepods' does not make pod<uid> a pod."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/my-kubepods/pod{UID}/{CID}")

    def test_docker_scope_with_suffix_is_nothing(self) -> None:
        """docker-<id>.scope-evil outside Kubernetes is nothing."""
        expected = NOTHING
        assert expected == attribute_cgroup(f"/system.slice/docker-{CID}.scope-evil")

    def test_newline_after_id_is_no_container(self) -> None:
        """A trailing newline does not sneak past the id shape (no `$` leniency)."""
        expected = PodAttribution(UID, None, "burstable", None)
        assert expected == attribute_cgroup(f"/kubepods/burstable/pod{UID}/{CID}\n")

    def test_non_ascii_digits_are_not_hex(self) -> None:
        """Unicode digits are not hex digits of an id."""
        expected = PodAttribution(UID, None, "burstable", None)
        lookalike = CID[:-1] + "\u0661"  # ARABIC-INDIC DIGIT ONE
        assert expected == attribute_cgroup(f"/kubepods/burstable/pod{UID}/{lookalike}")

    def test_fake_pod_inside_a_pod_is_ignored(self) -> None:
        """Names a container chooses below its own cgroup cannot re-attribute it to another pod."""
        other_uid = "ffffffff-ffff-ffff-ffff-ffffffffffff"
        expected = PodAttribution(UID, CID, "burstable", None)
        path = f"/kubepods/burstable/pod{UID}/{CID}/kubepods/pod{other_uid}/{'b' * 64}"
        assert expected == attribute_cgroup(path)


class TestCache:
    def test_repeated_path_is_cached(self) -> None:
        """attribute_cgroup is memoised for repeated paths."""
        path = f"/kubepods/burstable/pod{UID}/{CID}"
        attribute_cgroup(path)
        before = attribute_cgroup.cache_info().hits
        attribute_cgroup(path)
        assert before + 1 == attribute_cgroup.cache_info().hits


def _record(container_name: str, victim: str | None) -> OomRecord:
    return OomRecord(container_name=container_name, victim_container_name=victim)


def _k8s(record: OomRecord) -> PodAttribution:
    return PodAttribution(
        record.pod_uid, record.container_id, record.qos_class, record.container_runtime
    )


class TestKubernetesEnricher:
    def test_task_cgroup_wins(self) -> None:
        """The killed task's cgroup is used when it names a container."""
        record = _record(
            f"/kubepods/burstable/pod{UID}/{CID}", f"/kubepods/burstable/pod{UID}/{CID}"
        )
        record = kubernetes_enricher(record)
        assert PodAttribution(UID, CID, "burstable", None) == _k8s(record)

    def test_pod_limit_keeps_container_from_task_cgroup(self) -> None:
        """When the pod's limit was hit, the task cgroup still gives the container."""
        record = _record(REAL_CGROUPFS_TASK, REAL_CGROUPFS_POD)
        record = kubernetes_enricher(record)
        expected = PodAttribution(
            "99887766-5544-3322-1100-ffeeddccbbaa", "12ab" * 16, "guaranteed", None
        )
        assert expected == _k8s(record)

    def test_real_systemd_capture(self) -> None:
        """The real systemd capture's record gets the BestEffort containerd container."""
        record = _record(REAL_SYSTEMD_TASK, REAL_SYSTEMD_TASK)
        record = kubernetes_enricher(record)
        expected = PodAttribution(
            "11223344-5566-7788-99aa-bbccddeeff00", "f0e1d2c3" * 8, "besteffort", "containerd"
        )
        assert expected == _k8s(record)

    def test_real_plain_capture(self) -> None:
        """The real plain-cgroup capture (/machine/demo) gets no attribution."""
        record = _record("/machine/demo", "/machine/demo")
        record = kubernetes_enricher(record)
        expected = NOTHING
        assert expected == _k8s(record)

    def test_unknown_task_cgroup_falls_back_to_oom_cgroup(self) -> None:
        """With the task cgroup unknown ("/"), the OOM cgroup is used."""
        record = _record("/", f"/kubepods/besteffort/pod{UID}")
        record = kubernetes_enricher(record)
        assert PodAttribution(UID, None, "besteffort", None) == _k8s(record)

    def test_unattributable_task_cgroup_falls_back_to_oom_cgroup(self) -> None:
        """A task cgroup that names nothing falls back to the OOM cgroup."""
        record = _record("/garbage", f"/kubepods/besteffort/pod{UID}")
        record = kubernetes_enricher(record)
        assert PodAttribution(UID, None, "besteffort", None) == _k8s(record)

    def test_system_oom_outside_kubernetes(self) -> None:
        """A system OOM of a non-container task leaves every field None."""
        record = _record("/system.slice/sshd.service", "/")
        record = kubernetes_enricher(record)
        expected = NOTHING
        assert expected == _k8s(record)

    def test_unknown_everything(self) -> None:
        """A record with no cgroups at all leaves every field None."""
        record = _record("/", None)
        record = kubernetes_enricher(record)
        expected = NOTHING
        assert expected == _k8s(record)

    def test_overwrites_stale_values(self) -> None:
        """The enricher sets all four fields, clearing values that no cgroup supports."""
        record = _record("/machine/demo", "/machine/demo")
        record.pod_uid, record.container_id = UID, CID
        record.qos_class, record.container_runtime = "burstable", "docker"
        record = kubernetes_enricher(record)
        expected = NOTHING
        assert expected == _k8s(record)

    def test_other_fields_untouched(self) -> None:
        """Only the four attribution fields change."""
        record = _record(f"/kubepods/pod{UID}/{CID}", f"/kubepods/pod{UID}")
        record.pid = 42
        before = record.as_dict()
        record = kubernetes_enricher(record)
        after = record.as_dict()
        changed = {key for key in before if before[key] != after[key]}
        assert {"pod_uid", "container_id", "qos_class"} == changed


def test_static_pod_uid_is_kept_as_the_kubelet_writes_it() -> None:
    """A static pod's uid (32 hex, the manifest hash) is attributed, with both drivers."""
    uid = "5f3b0c8a9d1e2f4a6b7c8d9e0f1a2b3c"
    cid = "ab" * 32
    cgroupfs = attribute_cgroup(f"/kubepods/burstable/pod{uid}/{cid}")
    systemd = attribute_cgroup(
        f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid}.slice/"
        f"cri-containerd-{cid}.scope"
    )
    assert (cgroupfs.pod_uid, cgroupfs.container_id) == (uid, cid)
    assert (systemd.pod_uid, systemd.container_id, systemd.qos_class) == (uid, cid, "burstable")


# The placeholders of the table of cgroup forms in tests/data/pods/README.md.
STATIC_UID = "5f3b0c8a9d1e2f4a6b7c8d9e0f1a2b3c"
SANDBOX_ID = "5a" * 32
FORM_VALUES = {
    "<uid_>": UID_,
    "<uid>": UID,
    "<static>": STATIC_UID,
    "<id>": CID,
    "<sid>": SANDBOX_ID,
    "<node>": NODE,
}
# a row of that table: | form | `path` | pod_uid | container_id | qos_class | runtime | source |
FORM_ROW = re.compile(
    r"\| ([^|]+) \| `([^`]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| [^|]+ \|"
)


def _fill(text: str) -> str:
    for placeholder, value in FORM_VALUES.items():
        text = text.replace(placeholder, value)
    return text


def _expected(cell: str) -> str | None:
    cell = cell.strip().strip("`")
    return None if cell == "-" else _fill(cell)


def _cgroup_forms() -> list[tuple[str, str, PodAttribution]]:
    text = (DATA / "pods" / "README.md").read_text(encoding="utf-8")
    forms = []
    for match in FORM_ROW.finditer(text):
        form, path, *fields = match.groups()
        uid, cid, qos, runtime = (_expected(cell) for cell in fields)
        forms.append((form.strip(), _fill(path), PodAttribution(uid, cid, qos, runtime)))
    return forms


CGROUP_FORMS = _cgroup_forms()


def test_cgroup_forms_table_is_read() -> None:
    """The README's table gives every row (a broken row would silently drop its case)."""
    table = (DATA / "pods" / "README.md").read_text(encoding="utf-8").split("| form | path |")[1]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    assert len(CGROUP_FORMS) == len(rows) >= 40


@pytest.mark.parametrize(
    ("path", "expected"), [(p, e) for _, p, e in CGROUP_FORMS], ids=[f for f, _, _ in CGROUP_FORMS]
)
def test_cgroup_form(path: str, expected: PodAttribution) -> None:
    """Each cgroup path form real nodes print is attributed as the README's table says."""
    assert expected == attribute_cgroup(path)


# Real reports whose cgroup paths the forms replace: Linux 6.18's oom-kill summary line (kmsg)
# and RHEL 7's (3.10) "Task in ... killed as a result of limit of ..." (dmesg).
REPORT_KMSG = (DATA / "real" / "systemd-burstable-odd-name.kmsg").read_text(encoding="utf-8")
REPORT_KMSG_PATH = (
    "/machine/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod23a45e65_1f53_4997_"
    "8617_b91e8812be5a.slice/cri-containerd-d8664f2d320942a0baeb7624a3e3d4785fe8dbbc1c974416a155"
    "2685bbf59e16.scope"
)
REPORT_DMESG = (DATA / "legacy" / "rhel7-3.10-memcg-pod-limit.dmesg").read_text(encoding="utf-8")
REPORT_DMESG_TASK_IN = re.compile(r"Task in \S+ killed as a result of limit of \S+")


@pytest.mark.parametrize("kind", ["kmsg", "dmesg"])
@pytest.mark.parametrize(
    ("path", "expected"),
    [(p, e) for _, p, e in CGROUP_FORMS if p != "/"],
    ids=[f for f, p, _ in CGROUP_FORMS if p != "/"],
)
def test_cgroup_form_in_a_real_report(kind: str, path: str, expected: PodAttribution) -> None:
    """Each form, printed where the kernel prints it (both cgroups of a memcg OOM), gives the
    record the table's attribution: no form trips the reader."""
    if kind == "kmsg":
        assert REPORT_KMSG.count(REPORT_KMSG_PATH) == 3
        text = REPORT_KMSG.replace(REPORT_KMSG_PATH, path)
    else:
        task_in = f"Task in {path} killed as a result of limit of {path}"
        text, replaced = REPORT_DMESG_TASK_IN.subn(task_in, REPORT_DMESG)
        assert replaced == 1
    [record] = run_pipeline([text.encode()], kind)
    assert (record["container_name"], record["victim_container_name"]) == (path, path)
    assert expected == PodAttribution(
        record["pod_uid"], record["container_id"], record["qos_class"], record["container_runtime"]
    )
