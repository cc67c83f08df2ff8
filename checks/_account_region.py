"""The account's regional rules: one verdict per region, from that region's facts (seed 003).

A rule's summary says what it found without naming the region; `checks.account` adds the
regions when it sums the verdicts up, and every evidence path names its region
(`SERVICE:REGION:resource`).
"""

from __future__ import annotations

from checks._account_common import Verdict, unmet
from checks.base import CatalogEntry
from wizard.account_facts import AccountFacts, OpenRule, RegionFacts, Trail
from wizard.model import Evidence, Status

IMDS_V2 = "v2.0"


def _trail_bits(t: Trail) -> str:
    bits = ["multi-region" if t.multi_region else f"single-region ({t.home_region})"]
    bits.append({True: "logging", False: "NOT logging", None: "status unknown"}[t.logging])
    bits.append("log file validation" if t.log_file_validation else "NO log file validation")
    bits.append("KMS-encrypted" if t.kms_key_id else "not KMS-encrypted")
    bits.append("insights: " + ",".join(t.insights) if t.insights else "no insights")
    if t.status_error:
        bits.append(t.status_error)
    return ", ".join(bits)


def cloudtrail(r: RegionFacts, f: AccountFacts, entry: CatalogEntry) -> Verdict:
    trails = f.trails_all
    covering = [t for t in trails if t.multi_region or t.home_region == r.region]
    evidence = [
        Evidence(f"cloudtrail:{t.home_region or r.region}:trail/{t.name}", 0, _trail_bits(t))
        for t in covering
    ]
    good = [t for t in covering if t.multi_region and t.logging]
    if not good:
        return unmet(entry), "no logging multi-region trail records this region", evidence
    if not any(t.log_file_validation for t in good):
        return unmet(entry), f"trail {good[0].name} has no log file validation", evidence
    missing = []
    if not any(t.kms_key_id for t in good):
        missing.append("KMS encryption")
    if not any(t.insights for t in good):
        missing.append("insights")
    if missing:
        return Status.WARN, f"trail {good[0].name} has no " + " and no ".join(missing), evidence
    return Status.PASS, "a validated, KMS-encrypted multi-region trail with insights", evidence


def guardduty(r: RegionFacts, f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = [
        Evidence(f"guardduty:{r.region}:detector/{d.id}", 0, d.status)
        for d in r.guardduty_detectors
    ]
    if any(d.status == "ENABLED" for d in r.guardduty_detectors):
        return Status.PASS, "GuardDuty is on", evidence
    return unmet(entry), "GuardDuty is off", evidence


def access_analyzer(r: RegionFacts, f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = [
        Evidence(f"access-analyzer:{r.region}:analyzer/{a.name}", 0, f"{a.type} {a.status}")
        for a in r.analyzers
    ]
    if any(a.status == "ACTIVE" for a in r.analyzers):
        return Status.PASS, "IAM Access Analyzer is active", evidence
    return unmet(entry), "no active IAM Access Analyzer", evidence


def config_recorder(r: RegionFacts, f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = [
        Evidence(
            f"config:{r.region}:recorder/{c.name}",
            0,
            ("recording" if c.recording else "NOT recording")
            + (", all resource types" if c.all_supported else ", some resource types"),
        )
        for c in r.config_recorders
    ]
    if any(c.recording for c in r.config_recorders):
        return Status.PASS, "AWS Config is recording", evidence
    if r.config_recorders:
        return unmet(entry), "the AWS Config recorder is stopped", evidence
    return unmet(entry), "no AWS Config recorder", evidence


def _ports(rule: OpenRule) -> str:
    if rule.from_port is None:
        return "all ports" if rule.protocol == "-1" else f"all {rule.protocol} ports"
    if rule.from_port == rule.to_port:
        return f"port {rule.from_port}"
    return f"ports {rule.from_port}-{rule.to_port}"


def open_admin_ports(r: RegionFacts, f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = [
        Evidence(
            f"ec2:{r.region}:security-group/{x.group_id}",
            0,
            f"{x.group_name}: {_ports(x)} open to {x.source}"
            + ("" if x.in_use else " (not attached to anything)"),
        )
        for x in r.open_rules
    ]
    if not evidence:
        return Status.PASS, "no security group opens SSH, RDP or all ports to the internet", []
    groups = {x.group_id for x in r.open_rules}
    return (
        unmet(entry),
        f"{len(groups)} security group(s) open admin ports to the internet",
        evidence,
    )


def ebs_encryption(r: RegionFacts, f: AccountFacts, entry: CatalogEntry) -> Verdict:
    path = f"ec2:{r.region}:ebs-encryption-by-default"
    if r.ebs_encryption_by_default:
        return Status.PASS, "new EBS volumes are encrypted by default", [Evidence(path, 0, "on")]
    return unmet(entry), "new EBS volumes are not encrypted by default", [Evidence(path, 0, "off")]


def imdsv2(r: RegionFacts, f: AccountFacts, entry: CatalogEntry) -> Verdict:
    loose = [
        i for i in r.instances if i.http_endpoint != "disabled" and i.http_tokens != "required"
    ]
    evidence = [
        Evidence(f"ec2:{r.region}:instance/{i.id}", 0, f"IMDSv1 allowed ({i.state})") for i in loose
    ]
    default = r.imds_default_http_tokens
    if "imds-defaults" not in r.errors:
        evidence.append(
            Evidence(
                f"ec2:{r.region}:instance-metadata-defaults",
                0,
                f"HttpTokens {default or 'not set'}",
            )
        )
    if loose:
        return unmet(entry), f"{len(loose)} instance(s) still accept IMDSv1", evidence
    if "imds-defaults" not in r.errors and default != "required":
        return Status.WARN, "new instances do not require IMDSv2 by default", evidence
    return Status.PASS, f"all {len(r.instances)} instance(s) require IMDSv2", evidence


def public_amis(r: RegionFacts, f: AccountFacts, entry: CatalogEntry) -> Verdict:
    evidence = [
        Evidence(f"ec2:{r.region}:image/{i.id}", 0, f"public ({i.name})" if i.name else "public")
        for i in r.images
        if i.public
    ]
    evidence += [
        Evidence(f"ec2:{r.region}:snapshot/{s.id}", 0, "anyone may create volumes from it")
        for s in r.snapshots
        if s.public
    ]
    if evidence:
        return unmet(entry), f"{len(evidence)} public image(s) or snapshot(s)", evidence
    return (
        Status.PASS,
        f"none of {len(r.images)} image(s) and {len(r.snapshots)} snapshot(s) is public",
        [],
    )


def ami_imds_support(r: RegionFacts, f: AccountFacts, entry: CatalogEntry) -> Verdict:
    lacking = [i for i in r.images if i.imds_support != IMDS_V2]
    evidence = [
        Evidence(
            f"ec2:{r.region}:image/{i.id}",
            0,
            ("public" if i.public else "private") + ", registered without ImdsSupport=v2.0",
        )
        for i in lacking
    ]
    public = [i for i in lacking if i.public]
    if public:
        return unmet(entry), f"{len(public)} public AMI(s) launch with IMDSv1 allowed", evidence
    if lacking:
        return Status.WARN, f"{len(lacking)} private AMI(s) without ImdsSupport=v2.0", evidence
    return Status.PASS, f"all {len(r.images)} AMI(s) ask for IMDSv2", []


def ami_bpa(r: RegionFacts, f: AccountFacts, entry: CatalogEntry) -> Verdict:
    state = r.image_block_public_access or "not reported"
    evidence = [Evidence(f"ec2:{r.region}:image-block-public-access", 0, state)]
    if state == "block-new-sharing":
        return Status.PASS, "new public AMI sharing is blocked", evidence
    return unmet(entry), "AMIs can be made public", evidence
