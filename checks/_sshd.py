"""Shared reading of one sshd setting for the sshd checks (root login, passwords, UseDNS).

Like ComplianceAsCode's sshd_lineinfile template, one helper serves every sshd keyword: the
effective value (from `sshd -T` on a live target, else the config model), the file:line it
comes from, Match blocks that change it for some connections, and model/sshd -T disagreements.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from checks.base import Unchanged
from wizard.facts import Facts
from wizard.model import Evidence
from wizard.sshd_config import Directive, Setting, SshdConfig, parse_version

# How the keywords are written in summaries (sshd itself is case-insensitive).
NAMES = {
    "permitrootlogin": "PermitRootLogin",
    "passwordauthentication": "PasswordAuthentication",
    "kbdinteractiveauthentication": "KbdInteractiveAuthentication",
    "challengeresponseauthentication": "ChallengeResponseAuthentication",
    "usedns": "UseDNS",
}
# sshd -T prints the old spelling of some values; compare them in the model's spelling.
_SSHD_T_SPELLINGS = {"without-password": "prohibit-password"}


def name(keyword: str) -> str:
    return NAMES.get(keyword, keyword)


@dataclass(frozen=True)
class Effective:
    """One keyword as sshd will use it, with everything needed to explain where it comes from."""

    keyword: str  # lower-case, canonical (aliases resolved by the model)
    value: str  # first value, lower-case, canonical spelling; "" when none
    setting: Setting  # the model's view, always there for evidence
    from_sshd_t: bool  # the value is what the running sshd reported
    evidence: tuple[Evidence, ...]

    @property
    def name(self) -> str:
        return name(self.keyword)

    @property
    def is_default(self) -> bool:
        return self.setting.source is None

    @property
    def spelled(self) -> str:
        """The value as written in the winning line (e.g. the deprecated `without-password`)."""
        src = self.setting.source
        return src.args[0] if src is not None and src.args else self.value

    def origin(self, facts: Facts) -> str:
        """A short phrase for summaries: `from /etc/ssh/sshd_config:32`, `default of ...`."""
        if self.is_default:
            text = f"default of OpenSSH {facts.sshd_version}" if facts.sshd_version else "default"
        else:
            text = f"from {self.setting.where()}"
        return f"{text}, confirmed by sshd -T" if self.from_sshd_t else text


def load(facts: Facts) -> SshdConfig | None:
    """The parsed configuration, or None when the target has no sshd at all."""
    if not facts.sshd_files and facts.sshd_t is None:
        return None
    return SshdConfig.parse(facts.sshd_files, facts.sshd_main, facts.sshd_version or None)


def _sshd_t_value(facts: Facts, keyword: str) -> str | None:
    if not facts.live or facts.sshd_t is None:
        return None
    lines = facts.sshd_t.get(keyword)
    if not lines or not lines[0].split():
        return None
    first = lines[0].split()[0].lower()
    return _SSHD_T_SPELLINGS.get(first, first)


def effective(facts: Facts, config: SshdConfig, keyword: str) -> Effective:
    setting = config.effective(keyword)
    kw = setting.keyword
    model = setting.value[0].lower() if setting.value else ""
    live = _sshd_t_value(facts, kw)
    evidence: list[Evidence] = []
    src = setting.source
    if src is not None:
        evidence.append(Evidence(src.path, src.line, f"{name(kw)} {' '.join(src.args)}"))
    else:
        version = facts.sshd_version or "(version unknown: assuming a recent release)"
        evidence.append(
            Evidence(config.main, 0, f"{name(kw)} not set: OpenSSH {version} default is {model}")
        )
    if live is not None and live != model:
        evidence.append(
            Evidence(
                "sshd -T",
                0,
                f"the running sshd reports {name(kw)} {live}, the files say {model}: "
                "sshd's value is used",
            )
        )
    elif facts.live and facts.sshd_t is None and facts.sshd_t_error:
        evidence.append(
            Evidence("sshd -T", 0, f"could not ask sshd ({facts.sshd_t_error}); read from files")
        )
    evidence += [
        Evidence(config.main, 0, f"sshd_config problem: {p}")
        for p in config.problems
        if name(kw).lower() in p.lower()
    ]
    return Effective(
        kw, live if live is not None else model, setting, live is not None, tuple(evidence)
    )


def _match_header(config: SshdConfig, directive: Directive) -> Directive | None:
    """The Match line that opens the block `directive` belongs to (same file, above it)."""
    headers = [
        d
        for d in config.directives
        if d.keyword == "match" and d.path == directive.path and d.line < directive.line
    ]
    return headers[-1] if headers else None


def match_overrides(
    config: SshdConfig, eff: Effective, bad: Callable[[str], bool]
) -> tuple[Evidence, ...]:
    """Evidence for Match blocks that set the keyword to a `bad` value for some connections."""
    out: list[Evidence] = []
    for d in eff.setting.overrides:
        value = d.args[0].lower() if d.args else ""
        if not bad(value):
            continue
        header = _match_header(config, d)
        criteria = d.match or "?"
        if header is not None:
            out.append(Evidence(header.path, header.line, f"Match {criteria}"))
        out.append(
            Evidence(
                d.path, d.line, f"{name(eff.keyword)} {' '.join(d.args)} inside Match {criteria}"
            )
        )
    return tuple(out)


def version_before(facts: Facts, major: int, minor: int) -> bool:
    """True when the target's OpenSSH is known to be older than major.minor."""
    return bool(facts.sshd_version) and not parse_version(facts.sshd_version).at_least(major, minor)


def unchanged(facts: Facts, option_id: str) -> Unchanged | None:
    """Why an sshd option plans nothing, for the checks that use this helper: when `sshd -T`
    failed on a live target the files agree with the option, but what the running sshd
    uses is not known."""
    if facts.live and facts.sshd_t is None and facts.sshd_t_error:
        return Unchanged(
            f"sshd -T failed ({facts.sshd_t_error}): the files already say so, but the value "
            "the running sshd uses is not known",
            unknown=True,
        )
    return None
