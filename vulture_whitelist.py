"""Names vulture cannot see used, each with its reason (vulture reads this file as code).

Run `vulture` (settings in pyproject.toml [tool.vulture]); a name belongs here only when it
is used where vulture does not look — by a library calling it, by data, or as tested API.
"""

import tempfile

from paramiko import Transport

import checks
from checks import _catalog, registry
from wizard import report_doc, signing
from wizard.account_facts import Organization, Trail
from wizard.actions import RunCommand
from wizard.model import Severity
from wizard.sshd_config import SshdConfig
from wizard.targets.ssh import SSHTarget
from wizard.testboot_imds import MetadataStub

# Severity values come from the catalog YAML (Severity(value)), never by attribute.
Severity.HIGH
Severity.MEDIUM
Severity.LOW

# Facts gathered as AWS returns them: part of the facts the account checks may judge.
Trail.home_region
Organization.management_account_id

# Being reworked by the apply split (issue 12, item 6): read there or removed there.
RunCommand.live_only

# checks.INSTANCE_CHECKS is computed by a module __getattr__ (the registry may gain a package);
# tests read it to compare the audit's order.
checks.INSTANCE_CHECKS
checks.__getattr__

# The registry's extension point for a package of checks outside `checks` (the three-file
# recipe is proved with it in tests/test_registry_extension.py).
registry.extra_package

# Catalog translations: the languages present under checks/catalog/<lang>/ (tested API,
# for the coming --lang option).
_catalog.languages

# http.server calls the stub's request-handler hooks and reads this server setting by name
# (the handler class is made inside MetadataStub; vulture only needs the names used).
MetadataStub.daemon_threads
MetadataStub.log_message
MetadataStub.do_PUT
MetadataStub.do_GET

# Public API, used by the tests and the README's recipes.
signing.verify_file
SshdConfig.authorized_keys_files
SshdConfig.cross_check  # the model against `sshd -T` (DESIGN: sshd -T is the truth)
SSHTarget.prompted_secrets

# paramiko reads these attributes of its Transport (set in wizard/targets/ssh.py).
Transport.banner_timeout
Transport.handshake_timeout
Transport.auth_timeout

# The report document's keys are read by name (doc["schema"]): they are the public JSON.
report_doc.ReportDoc.schema
report_doc.ReportDoc.tool
report_doc.ReportDoc.image
report_doc.ReportDoc.bundle_excludes
report_doc.AccountDoc.read_at

# cli_serve points tempfile's module default at the session's dir; mkdtemp reads it.
tempfile.tempdir
