"""ssh-use-dns: sshd should not make logins depend on DNS (optional guideline).

UseDNS cannot be set inside a Match block, so only the global value matters. One sshd
template (`checks._sshd.Guideline`) does the judging and the fix; this module is its data.
"""

from __future__ import annotations

from checks import _sshd
from checks.registry import CheckMeta
from wizard.actions import SetSshd
from wizard.model import Status

ID = "ssh-use-dns"
META = CheckMeta(id=ID, order=30, needs=_sshd.NEEDS, actions=(SetSshd,))

_SLOW = "{summary}: logins wait on reverse DNS and fail when it is down"
GUIDELINE = _sshd.Guideline(
    ID,
    rules=(_sshd.Rule("usedns", frozenset({"yes"})),),
    unsafe_status=Status.WARN,
    unsafe=_SLOW,
    reopened=_SLOW,
)
check = GUIDELINE.check
plan = GUIDELINE.plan  # the chosen option is the value UseDNS gets
unchanged = _sshd.unchanged  # the preview's reason when the plan is empty (sshd -T failed)
