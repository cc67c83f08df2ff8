"""Shared reading of one sshd setting for the sshd checks (root login, passwords, UseDNS).

Like ComplianceAsCode's sshd_lineinfile template, one helper serves every sshd keyword: the
effective value (from `sshd -T` on a live target, else the config model), the file:line it
comes from, model/sshd -T disagreements, and one judgement (`judge`, driven by a `Rule`) of
every Match block that can give some connection an unsafe value, confirmed on live targets by
`sshd -T -C` for a few fixed connections.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from checks._plans import option
from checks.base import Unchanged, catalog
from wizard.actions import Action, PlanContext, SetSshd
from wizard.facts import Facts
from wizard.model import Evidence, Finding, Status
from wizard.sshd_config import (
    Directive,
    Setting,
    SshdConfig,
    criteria_always_match,
    criteria_may_match,
    parse_version,
)

# How the keywords are written in summaries (sshd itself is case-insensitive).
NAMES = {
    "permitrootlogin": "PermitRootLogin",
    "passwordauthentication": "PasswordAuthentication",
    "kbdinteractiveauthentication": "KbdInteractiveAuthentication",
    "challengeresponseauthentication": "ChallengeResponseAuthentication",
    "usedns": "UseDNS",
    "permitemptypasswords": "PermitEmptyPasswords",
}
# sshd -T prints the old spelling of some values; compare them in the model's spelling.
_SSHD_T_SPELLINGS = {"without-password": "prohibit-password"}
NO_SSHD = "no sshd configuration found: no SSH server to check"
# The Facts fields every sshd guideline reads (META.needs).
NEEDS = ("live", "sshd_files", "sshd_main", "sshd_t", "sshd_t_conn", "sshd_t_error", "sshd_version")


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

    @property
    def deprecated(self) -> bool:
        """True when the winning line uses a deprecated spelling of its value."""
        return self.spelled.lower() in _SSHD_T_SPELLINGS

    @property
    def shown(self) -> str:
        """The value for a summary, naming a deprecated spelling for what it is."""
        if self.deprecated:
            old = self.spelled.lower()
            return f"{old} (the deprecated spelling of {_SSHD_T_SPELLINGS[old]})"
        return self.value

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


@dataclass(frozen=True)
class Rule:
    """What makes one sshd keyword unsafe, as data: the one judgement every sshd check shares."""

    keyword: str  # lower-case, canonical
    unsafe: frozenset[str]  # values (canonical spelling) that break the guideline
    root_only: bool = False  # sshd consults it only for accounts with uid 0 (PermitRootLogin)

    def subjects(self, facts: Facts) -> tuple[str, ...] | None:
        """The user names a Match block must be able to match to matter (None: anyone)."""
        if not self.root_only or not facts.accounts:
            return None  # without /etc/passwd any name may have uid 0
        names = [a.name for a in facts.accounts if a.uid == 0]
        return tuple(dict.fromkeys(["root", *names]))


@dataclass(frozen=True)
class Judgement:
    """One keyword judged for every connection: the global value and each Match block."""

    rule: Rule
    eff: Effective
    reopened: tuple[Evidence, ...]  # Match blocks that can apply and set an unsafe value
    harmless: tuple[Evidence, ...]  # unsafe values in blocks that cannot apply to the subjects
    live: tuple[Evidence, ...]  # `sshd -T -C` answers with an unsafe value

    @property
    def unsafe(self) -> bool:
        """True when some connection gets an unsafe value (globally or through a Match)."""
        return self.eff.value in self.rule.unsafe or bool(self.reopened or self.live)

    @property
    def reopens(self) -> bool:
        """True when only Match blocks (or the running sshd per connection) make it unsafe."""
        return bool(self.reopened or self.live)

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        return self.eff.evidence + self.reopened + self.live + self.harmless

    def where_reopened(self) -> str:
        """`a Match block at FILE:LINE` or the connection sshd -T -C answered for."""
        if self.reopened:
            first = self.reopened[0]
            return f"a Match block at {first.path}:{first.line}"
        return f"the running sshd, for {self.live[0].path.removeprefix('sshd -T -C ')},"


def _header(config: SshdConfig, directive: Directive) -> Directive | None:
    """The Match line that opens the block `directive` belongs to (same file, above it)."""
    headers = [
        d
        for d in config.directives
        if d.keyword == "match" and d.path == directive.path and d.line < directive.line
    ]
    return headers[-1] if headers else None


def _canon_value(directive: Directive) -> str:
    first = directive.args[0].lower() if directive.args else ""
    return _SSHD_T_SPELLINGS.get(first, first)


def _spec_user(spec: str) -> str:
    fields = dict(part.partition("=")[::2] for part in spec.split(","))
    return fields.get("user", "")


def judge(facts: Facts, config: SshdConfig, rule: Rule) -> Judgement:
    """The effective value, plus every Match block that gives some connection an unsafe one.

    sshd re-reads the configuration for each connection and takes, per keyword, the first
    line of a matching Match block (`Match all` included) over the global value. So a block
    counts when its criteria can match one of the rule's subjects and no earlier block that
    always matches them has already set the keyword. On a live target the `sshd -T -C`
    answers for a few fixed connections are checked too, and any unsafe one counts.
    """
    eff = effective(facts, config, rule.keyword)
    users = rule.subjects(facts)
    reopened: list[Evidence] = []
    harmless: list[Evidence] = []
    for d in config.in_match_blocks(rule.keyword):
        reachable = criteria_may_match(d.criteria, users)
        value = _canon_value(d)
        if value in rule.unsafe:
            text = f"{name(eff.keyword)} {' '.join(d.args)} inside Match {d.match}"
            if reachable:
                header = _header(config, d)
                if header is not None:
                    reopened.append(Evidence(header.path, header.line, f"Match {d.match}"))
                reopened.append(Evidence(d.path, d.line, text))
            else:
                who = "root" if rule.root_only else "any connection"
                harmless.append(Evidence(d.path, d.line, f"{text}: cannot match {who}"))
        if reachable and criteria_always_match(d.criteria, users):
            break  # later Match lines never win for these connections
    live: list[Evidence] = []
    if facts.live:
        for spec, answers in sorted(facts.sshd_t_conn.items()):
            if users is not None and _spec_user(spec) not in users:
                continue
            lines = answers.get(eff.keyword) or ()
            words = lines[0].split() if lines else []
            value = _SSHD_T_SPELLINGS.get(words[0].lower(), words[0].lower()) if words else ""
            if value in rule.unsafe:
                live.append(
                    Evidence(
                        f"sshd -T -C {spec}",
                        0,
                        f"the running sshd gives this connection {name(eff.keyword)} {value}",
                    )
                )
    return Judgement(rule, eff, tuple(reopened), tuple(harmless), tuple(live))


def clear_in_match(judgement: Judgement) -> tuple[str, ...]:
    """The unsafe values a fix comments out inside Match blocks: all of them once the fix
    runs, also those in blocks that cannot apply today (a renamed account could make them)."""
    found = judgement.reopens or judgement.harmless
    return tuple(sorted(judgement.rule.unsafe)) if found else ()


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


# --- the template: one sshd guideline from data ------------------------------------------


def _summary(facts: Facts, judged: list[Judgement], *, shown: bool) -> str:
    """`Keyword is value (origin)` for each keyword; `shown` names a deprecated spelling."""
    return "; ".join(
        f"{j.eff.name} is {j.eff.shown if shown else j.eff.value} ({j.eff.origin(facts)})"
        for j in judged
    )


@dataclass(frozen=True)
class Guideline:
    """One sshd guideline as data: "the effective value of each keyword must not be unsafe,
    for any connection (every Match block that can apply counts)".

    Summaries are templates: `{summary}` is "Keyword is value (origin)" for every keyword
    judged, joined by "; ", `{where}` the Match block (or connection) that reopens it. The
    fix sets each keyword that is unsafe somewhere to the chosen option's value (`value`
    None) or to `value`, and comments out the unsafe values in Match blocks.
    """

    check_id: str
    rules: tuple[Rule, ...] | Callable[[Facts, SshdConfig], list[Rule]]
    unsafe_status: Status = Status.FAIL  # the status when some connection gets an unsafe value
    unsafe: str = "{summary}"  # when the global value is unsafe
    reopened: str = "{summary}"  # when only Match blocks (or sshd per connection) are unsafe
    allowed: frozenset[str] | None = None  # values known to be safe; any other one warns
    also_if_unsafe: tuple[Rule, ...] = ()  # judged and fixed only when unsafe somewhere
    value: str | None = None  # what the fix sets (None: the chosen option's id)

    def judged(self, facts: Facts) -> list[Judgement] | None:
        """Every keyword judged (the conditional ones only when unsafe); None without sshd."""
        config = load(facts)
        if config is None:
            return None
        rules = self.rules if isinstance(self.rules, tuple) else self.rules(facts, config)
        judged = [judge(facts, config, rule) for rule in rules]
        extra = [judge(facts, config, rule) for rule in self.also_if_unsafe]
        return judged + [j for j in extra if j.unsafe]

    def check(self, facts: Facts) -> Finding:
        entry = catalog()[self.check_id]
        judged = self.judged(facts)
        if judged is None:
            return entry.finding(Status.SKIP, NO_SSHD)
        evidence = [
            *(e for j in judged for e in j.eff.evidence),
            *(e for j in judged for e in (*j.reopened, *j.live)),
            *(e for j in judged for e in j.harmless),
        ]
        if any(j.eff.value in j.rule.unsafe for j in judged):
            text = self.unsafe.format(summary=_summary(facts, judged, shown=False))
            return entry.finding(self.unsafe_status, text, evidence)
        summary = _summary(facts, judged, shown=True)
        odd = next((j for j in judged if self.allowed and j.eff.value not in self.allowed), None)
        if odd is not None:
            return entry.finding(
                Status.WARN,
                f"{odd.eff.name} has an unexpected value {odd.eff.value!r} "
                f"({odd.eff.origin(facts)})",
                evidence,
            )
        first = next((j for j in judged if j.reopens), None)
        if first is not None:
            text = self.reopened.format(summary=summary, where=first.where_reopened())
            return entry.finding(self.unsafe_status, text, evidence)
        return entry.finding(Status.PASS, summary, evidence)

    def plan(
        self, facts: Facts, option_id: str, ctx: PlanContext | None = None
    ) -> tuple[Action, ...]:
        """Set every keyword that is not yet the fix's value (or is written in a deprecated
        spelling, or reopened by a Match block) where it takes effect; empty when nothing
        needs to change (see `unchanged`)."""
        chosen = option(self.check_id, option_id)
        value = self.value or chosen
        return tuple(
            SetSshd(
                check_id=self.check_id,
                keyword=j.eff.name,
                args=(value,),
                clear_in_match=clear_in_match(j),
            )
            for j in self.judged(facts) or []
            if j.eff.value != value or j.eff.deprecated or j.reopens
        )
