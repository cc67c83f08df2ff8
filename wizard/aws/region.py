"""One region's areas: what EC2, CloudTrail, GuardDuty, Access Analyzer and Config hold there.

`read_region` reads them all, one after the other, and never raises: each unreadable area is
a reason in RegionFacts.errors. Regions are read concurrently by `wizard.aws`.
"""

from __future__ import annotations

from typing import Any

from wizard.account_facts import (
    Analyzer,
    Detector,
    Image,
    Instance,
    OpenRule,
    Recorder,
    RegionFacts,
    Snapshot,
    Trail,
)
from wizard.aws.reader import Areas, Reader, code, pages, reason

WORLD = ("0.0.0.0/0", "::/0")
ADMIN_PORTS = (22, 3389)
MAX_SNAPSHOT_ATTRIBUTES = 500  # one call per snapshot: a bound on a huge region


def trails(r: Reader, region: str) -> tuple[Trail, ...]:
    found: list[Trail] = []
    listed = r.client("cloudtrail", region).describe_trails(includeShadowTrails=True)
    for t in listed.get("trailList", []):
        arn = t.get("TrailARN", "")
        home = t.get("HomeRegion") or region
        if home != region:
            continue  # a shadow of a trail whose home region answers for it
        ct = r.client("cloudtrail", home)
        logging_on: bool | None = None
        insights: tuple[str, ...] = ()
        status_error = ""
        try:
            logging_on = bool(ct.get_trail_status(Name=arn or t["Name"]).get("IsLogging"))
        except Exception as exc:  # an org trail seen from a member may deny this
            status_error = reason(exc, "cloudtrail")
        # asked even when HasInsightSelectors is false: not every endpoint keeps that flag
        try:
            sel = ct.get_insight_selectors(TrailName=arn or t["Name"])
            insights = tuple(s["InsightType"] for s in sel.get("InsightSelectors", []))
        except Exception as exc:
            if code(exc) != "InsightNotEnabledException":
                status_error = status_error or reason(exc, "cloudtrail")
        found.append(
            Trail(
                name=t["Name"],
                arn=arn,
                home_region=home,
                multi_region=bool(t.get("IsMultiRegionTrail")),
                organization=bool(t.get("IsOrganizationTrail")),
                logging=logging_on,
                insights=insights,
                status_error=status_error,
                log_file_validation=bool(t.get("LogFileValidationEnabled")),
                kms_key_id=str(t.get("KmsKeyId") or ""),
            )
        )
    return tuple(found)


def detectors(r: Reader, region: str) -> tuple[Detector, ...]:
    gd = r.client("guardduty", region)
    return tuple(
        Detector(id=d, status=gd.get_detector(DetectorId=d).get("Status", ""))
        for d in pages(gd, "list_detectors", "DetectorIds")
    )


def analyzers(r: Reader, region: str) -> tuple[Analyzer, ...]:
    aa = r.client("accessanalyzer", region)
    return tuple(
        Analyzer(name=a["name"], type=a.get("type", ""), status=a.get("status", ""))
        for a in pages(aa, "list_analyzers", "analyzers")
    )


def images(r: Reader, region: str) -> tuple[Image, ...]:
    ec2 = r.client("ec2", region)
    return tuple(
        Image(
            id=i["ImageId"],
            name=i.get("Name", ""),
            public=bool(i.get("Public")),
            imds_support=str(i.get("ImdsSupport") or ""),
        )
        for i in pages(ec2, "describe_images", "Images", Owners=["self"])
    )


def snapshots(r: Reader, region: str, account_id: str) -> tuple[Snapshot, ...]:
    ec2 = r.client("ec2", region)
    found = []
    for n, s in enumerate(pages(ec2, "describe_snapshots", "Snapshots", OwnerIds=["self"])):
        if s.get("OwnerId") not in (None, account_id):
            continue  # some endpoints answer "self" loosely; only ours can be fixed by us
        if n >= MAX_SNAPSHOT_ATTRIBUTES:
            raise RuntimeError("too many snapshots")  # never a pass on a list cut short
        perms = ec2.describe_snapshot_attribute(
            SnapshotId=s["SnapshotId"], Attribute="createVolumePermission"
        ).get("CreateVolumePermissions", [])
        found.append(
            Snapshot(id=s["SnapshotId"], public=any(p.get("Group") == "all" for p in perms))
        )
    return tuple(found)


def image_bpa(r: Reader, region: str) -> str:
    state = r.client("ec2", region).get_image_block_public_access_state()
    return str(state.get("ImageBlockPublicAccessState", ""))


def _open(group: dict[str, Any], perm: dict[str, Any], used: set[str]) -> list[OpenRule]:
    protocol = str(perm.get("IpProtocol", ""))
    low, high = perm.get("FromPort"), perm.get("ToPort")
    everything = protocol == "-1" or (low in (None, 0, -1) and high in (None, 65535, -1))
    admin = everything or any(
        low is not None and high is not None and low <= p <= high for p in ADMIN_PORTS
    )
    if not admin or protocol not in ("-1", "tcp", "6"):
        return []
    sources = [x.get("CidrIp", "") for x in perm.get("IpRanges", [])]
    sources += [x.get("CidrIpv6", "") for x in perm.get("Ipv6Ranges", [])]
    return [
        OpenRule(
            group_id=group["GroupId"],
            group_name=group.get("GroupName", ""),
            source=src,
            protocol=protocol,
            from_port=None if everything else low,
            to_port=None if everything else high,
            in_use=group["GroupId"] in used,
        )
        for src in sources
        if src in WORLD
    ]


def open_rules(r: Reader, region: str) -> tuple[OpenRule, ...]:
    ec2 = r.client("ec2", region)
    used = {
        g["GroupId"]
        for eni in pages(ec2, "describe_network_interfaces", "NetworkInterfaces")
        for g in eni.get("Groups", [])
    }
    return tuple(
        rule
        for group in pages(ec2, "describe_security_groups", "SecurityGroups")
        for perm in group.get("IpPermissions", [])
        for rule in _open(group, perm, used)
    )


def ebs_default(r: Reader, region: str) -> bool:
    return bool(r.client("ec2", region).get_ebs_encryption_by_default()["EbsEncryptionByDefault"])


def instances(r: Reader, region: str) -> tuple[Instance, ...]:
    ec2 = r.client("ec2", region)
    return tuple(
        Instance(
            id=i["InstanceId"],
            state=i.get("State", {}).get("Name", ""),
            http_tokens=str(i.get("MetadataOptions", {}).get("HttpTokens", "")),
            http_endpoint=str(i.get("MetadataOptions", {}).get("HttpEndpoint", "enabled")),
        )
        for res in pages(ec2, "describe_instances", "Reservations")
        for i in res.get("Instances", [])
        if i.get("State", {}).get("Name") not in ("terminated", "shutting-down")
    )


def imds_default(r: Reader, region: str) -> str:
    got = r.client("ec2", region).get_instance_metadata_defaults()
    return str(got.get("AccountLevel", {}).get("HttpTokens") or "")


def recorders(r: Reader, region: str) -> tuple[Recorder, ...]:
    cfg = r.client("config", region)
    found = cfg.describe_configuration_recorders().get("ConfigurationRecorders", [])
    status = {
        s.get("name"): bool(s.get("recording"))
        for s in cfg.describe_configuration_recorder_status().get(
            "ConfigurationRecordersStatus", []
        )
    }
    return tuple(
        Recorder(
            name=c.get("name", ""),
            recording=status.get(c.get("name"), False),
            all_supported=bool(c.get("recordingGroup", {}).get("allSupported")),
        )
        for c in found
    )


def read_region(r: Reader, region: str, account_id: str) -> RegionFacts:
    """Every regional area of one region; never raises."""
    a = Areas()
    return RegionFacts(
        region=region,
        trails=a.area("trails", "cloudtrail", lambda: trails(r, region), ()),
        guardduty_detectors=a.area("guardduty", "guardduty", lambda: detectors(r, region), ()),
        analyzers=a.area("access-analyzer", "accessanalyzer", lambda: analyzers(r, region), ()),
        images=a.area("images", "ec2", lambda: images(r, region), ()),
        snapshots=a.area("snapshots", "ec2", lambda: snapshots(r, region, account_id), ()),
        image_block_public_access=a.area(
            "image-block-public-access", "ec2", lambda: image_bpa(r, region), ""
        ),
        open_rules=a.area("security-groups", "ec2", lambda: open_rules(r, region), ()),
        ebs_encryption_by_default=a.area(
            "ebs-encryption", "ec2", lambda: ebs_default(r, region), None
        ),
        instances=a.area("instances", "ec2", lambda: instances(r, region), ()),
        imds_default_http_tokens=a.area(
            "imds-defaults", "ec2", lambda: imds_default(r, region), ""
        ),
        config_recorders=a.area("config", "config", lambda: recorders(r, region), ()),
        errors=dict(a.errors),
    )
