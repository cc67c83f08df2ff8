"""cloud-init-config: the image's cloud-init configuration must not open password logins.

cloud-init runs again on every instance launched from the image: what its configuration says
about passwords and root is done anew on each launch, whatever the builder fixed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from checks._cloudinit import CONFIG_DIR, CloudConfig, cloud_config, merge
from checks._plans import option
from checks.base import Unchanged, catalog
from checks.registry import CheckMeta
from wizard.actions import Action, PlanContext, PlanRefused, WriteFile
from wizard.facts import Facts, PasswordState
from wizard.i18n import _
from wizard.model import Evidence, Finding, Status

ID = "cloud-init-config"
META = CheckMeta(
    id=ID,
    order=125,
    needs=("cloud_init", "accounts", "incomplete"),
    actions=(WriteFile,),
    launch_trace=True,
)
# Later names win: the first of these that sorts after every other drop-in is used.
_DROP_IN_NAMES = ("99-ami-wizard.cfg", "zz-ami-wizard.cfg", "~~-ami-wizard.cfg")
PASSWORD_KEYS = ("plain_text_passwd", "passwd", "hashed_passwd")
DEFAULT_USER = ("system_info", "default_user")
_TRUE = {"true", "yes", "on", "1", "y"}
_FALSE = {"false", "no", "off", "0", "n"}


def truthy(value: Any) -> bool:
    """cloud-init's `is_true`: True, 1 or a word like "yes"/"on"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value == 1
    return isinstance(value, str) and value.strip().lower() in _TRUE


def falsy(value: Any) -> bool:
    """The opposite words: False, 0, "no", "off"... (None and other values are neither)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value == 0
    return isinstance(value, str) and value.strip().lower() in _FALSE


@dataclass(frozen=True)
class Problem:
    """One setting that opens a login: the file and key that decide it, and what it does."""

    path: str
    line: int
    key: str  # e.g. "users[bob].plain_text_passwd"
    detail: str
    user: str = ""  # the account it concerns, when one

    def evidence(self) -> Evidence:
        return Evidence(self.path, self.line, f"{self.key}: {self.detail}")


def _problem(
    cfg: CloudConfig, keys: tuple[str, ...], leaf: str, detail: str, user: str = ""
) -> Problem:
    path = cfg.origin(*keys) or cfg.origin(keys[0]) or "?"
    return Problem(path, cfg.line(path, leaf), ".".join(keys), detail, user)


def _user_entries(users: Any) -> list[tuple[str, dict[str, Any]]]:
    """(name, settings) of the `users:` entries that are mappings (list or legacy dict form)."""
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(users, dict):
        users = [{"name": k, **v} if isinstance(v, dict) else {"name": k} for k, v in users.items()]
    if isinstance(users, list):
        for entry in users:
            if isinstance(entry, dict):
                out.append((str(entry.get("name", "?")), entry))
    return out


def _account_problems(
    cfg: CloudConfig, label: str, where: tuple[str, ...], name: str, entry: dict[str, Any]
) -> list[Problem]:
    """lock_passwd: false and password keys of one user's settings (values never shown);
    `where` is the key path whose deciding file holds them."""
    path = cfg.origin(*where) or "?"
    found = []
    if falsy(entry.get("lock_passwd")):
        found.append(
            Problem(
                path,
                cfg.line(path, "lock_passwd"),
                f"{label}.lock_passwd",
                "false: the password stays usable",
                name,
            )
        )
    for key in PASSWORD_KEYS:
        if entry.get(key):
            found.append(
                Problem(
                    path,
                    cfg.line(path, key),
                    f"{label}.{key}",
                    "a password is set (value not shown)",
                    name,
                )
            )
    return found


def _chpasswd_problems(cfg: CloudConfig, default_user: str) -> list[Problem]:
    chpasswd = cfg.values.get("chpasswd")
    if not isinstance(chpasswd, dict):
        return []
    found = []
    plist = chpasswd.get("list")
    entries = plist.splitlines() if isinstance(plist, str) else plist
    if isinstance(entries, list):
        for item in entries:
            name, _, secret = str(item).partition(":")
            if secret and secret.strip().upper() not in ("R", "RANDOM"):
                found.append(
                    _problem(cfg, ("chpasswd", "list"), "list", f"sets a password for {name}", name)
                )
    users = chpasswd.get("users")
    if isinstance(users, list):
        for entry in users:
            if not isinstance(entry, dict):
                continue
            name = str(entry.get("name", "?"))
            random = str(entry.get("type", "")).upper() == "RANDOM" or str(
                entry.get("password", "")
            ).upper() in ("R", "RANDOM")
            if entry.get("password") and not random:
                found.append(
                    _problem(
                        cfg, ("chpasswd", "users"), "password", f"sets a password for {name}", name
                    )
                )
    return [
        p
        if p.user != default_user
        else Problem(p.path, p.line, p.key, p.detail + " (the default user)", p.user)
        for p in found
    ]


def default_user(cfg: CloudConfig) -> tuple[str, dict[str, Any]]:
    """cloud-init's `system_info.default_user`: its name ("" when none) and its settings."""
    system = cfg.values.get("system_info")
    user = system.get("default_user") if isinstance(system, dict) else None
    if not isinstance(user, dict):
        return "", {}
    return str(user.get("name", "")), user


def problems(cfg: CloudConfig) -> list[Problem]:
    """Every setting of the merged configuration that opens a password or root login."""
    values = cfg.values
    found: list[Problem] = []
    if "ssh_pwauth" in values and truthy(values["ssh_pwauth"]):
        found.append(
            _problem(
                cfg,
                ("ssh_pwauth",),
                "ssh_pwauth",
                "true: sshd password login is turned on at launch",
            )
        )
    if "disable_root" in values and falsy(values["disable_root"]):
        found.append(
            _problem(
                cfg, ("disable_root",), "disable_root", "false: root may log in with the launch key"
            )
        )
    name, settings = default_user(cfg)
    if values.get("password"):
        found.append(
            _problem(
                cfg,
                ("password",),
                "password",
                "a password for the default user (value not shown)",
                name,
            )
        )
    found += _account_problems(cfg, "system_info.default_user", DEFAULT_USER, name, settings)
    for user, entry in _user_entries(values.get("users")):
        found += _account_problems(cfg, f"users[{user}]", ("users",), user, entry)
    return found + _chpasswd_problems(cfg, name)


def _already_set(facts: Facts, found: list[Problem]) -> list[Evidence]:
    """Accounts the configuration named that already have a usable password in /etc/shadow:
    a drop-in stops the next launches from setting it, it does not remove it."""
    names = sorted({p.user for p in found if p.user and "passw" in p.key + p.detail})
    out = []
    for name in names:
        account = facts.account(name)
        if account is not None and account.password is PasswordState.USABLE:
            out.append(
                Evidence(
                    "/etc/shadow",
                    0,
                    f"{name} already has a usable password: the drop-in does not remove it "
                    "(lock it: user-passwords)",
                )
            )
    return out


def _cut_short(facts: Facts, cfg: CloudConfig) -> list[str]:
    return [
        n.reason
        for n in facts.incomplete
        if any(path in n.reason for path in cfg.texts) and "/etc/cloud/" in n.reason
    ]


def check(facts: Facts) -> Finding:
    entry = catalog()[ID]
    ci = facts.cloud_init
    if not ci.installed and not ci.config:
        return entry.finding(Status.SKIP, _("cloud-init is not installed"))
    cfg = cloud_config(facts)
    if not cfg.order:
        return entry.finding(Status.PASS, _("cloud-init has no configuration file in the image"))
    found = problems(cfg)
    evidence = [p.evidence() for p in found]
    evidence += [Evidence(p, 0, "not valid YAML: cloud-init ignores it") for p in cfg.broken]
    evidence += [
        Evidence(p, cfg.line(p, "merge_how") or cfg.line(p, "merge_type"), "merges its own way")
        for p in cfg.custom_merge
    ]
    short = _cut_short(facts, cfg)
    evidence += [Evidence("probe", 0, reason) for reason in short]
    if found:
        evidence += _already_set(facts, found)
        return entry.finding(
            Status.FAIL,
            f"{len(found)} cloud-init setting(s) would open password or root logins on every "
            "launch",
            evidence,
        )
    if cfg.broken or cfg.custom_merge or short:
        what = []
        if cfg.broken:
            what.append(f"not valid YAML: {', '.join(cfg.broken)}")
        if cfg.custom_merge:
            what.append(
                f"own merge rules (read with the default ones): {', '.join(cfg.custom_merge)}"
            )
        if short:
            what.append("a file was read only in part")
        return entry.finding(
            Status.WARN,
            "cloud-init configuration could not be judged whole: " + "; ".join(what),
            evidence,
        )
    return entry.finding(
        Status.PASS,
        f"cloud-init's merged configuration ({len(cfg.order)} file(s)) opens no password login",
    )


def _clean_user(entry: Any) -> Any:
    """A `users:` entry without its passwords, locked when it said lock_passwd: false."""
    if not isinstance(entry, dict):
        return entry
    out = {k: v for k, v in entry.items() if k not in PASSWORD_KEYS}
    if falsy(entry.get("lock_passwd")):
        out["lock_passwd"] = True
    return out


def _clean_chpasswd(chpasswd: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "list" in chpasswd:
        out["list"] = []
    if isinstance(chpasswd.get("users"), list):
        out["users"] = [
            u
            for u in chpasswd["users"]
            if isinstance(u, dict)
            and (str(u.get("type", "")).upper() == "RANDOM" or not u.get("password"))
        ]
    return out


def drop_in(cfg: CloudConfig) -> dict[str, Any]:
    """The settings that override every problem: this file sorts last, so it decides them.
    Passwords are overridden with "" (cloud-init sets none from an empty value); lists come
    whole from the deciding file, so `users:` is written back whole, without passwords."""
    found = problems(cfg)
    keys = {p.key.split(".")[0].split("[")[0] for p in found}
    out: dict[str, Any] = {}
    if "ssh_pwauth" in keys:
        out["ssh_pwauth"] = False
    if "disable_root" in keys:
        out["disable_root"] = True
    if "password" in keys:
        out["password"] = ""
    _, settings = default_user(cfg)
    fixes: dict[str, Any] = {k: "" for k in PASSWORD_KEYS if settings.get(k)}
    if falsy(settings.get("lock_passwd")):
        fixes["lock_passwd"] = True
    if fixes:
        out["system_info"] = {"default_user": fixes}
    if "users" in keys:
        users = cfg.values["users"]
        if isinstance(users, dict):
            out["users"] = {k: _clean_user(v) for k, v in users.items()}
        else:
            out["users"] = [_clean_user(u) for u in users]
    if "chpasswd" in keys:
        out["chpasswd"] = _clean_chpasswd(cfg.values["chpasswd"])
    return out


HEADER = (
    "# Written by ami-wizard (cloud-init-config). cloud-init reads this file last, so it\n"
    "# decides every key below: no password login and no password from this configuration\n"
    "# on the instances launched from this image. Remove it to go back to the other files.\n"
)


def drop_in_path(cfg: CloudConfig) -> str:
    """Where the drop-in goes: a name that sorts after every other drop-in."""
    others = [p.rsplit("/", 1)[-1] for p in cfg.order if p.startswith(CONFIG_DIR + "/")]
    for name in _DROP_IN_NAMES:
        if all(other <= name for other in others if not other.endswith("-ami-wizard.cfg")):
            return f"{CONFIG_DIR}/{name}"
    raise PlanRefused(
        f"a drop-in in {CONFIG_DIR} sorts after every name the wizard would use: "
        "set the keys by hand in that file"
    )


def plan(facts: Facts, option_id: str, ctx: PlanContext | None = None) -> tuple[Action, ...]:
    """One drop-in, written atomically (WriteFile is journaled: undo restores or removes it)."""
    option(ID, option_id)
    cfg = cloud_config(facts)
    settings = drop_in(cfg)
    if not settings:
        return ()
    path = drop_in_path(cfg)
    # A drop-in of ours already there keeps what it overrode before.
    settings = merge(settings, cfg.data.get(path, {}))
    text = HEADER + yaml.safe_dump(settings, default_flow_style=False, sort_keys=False)
    return (WriteFile(check_id=ID, path=path, content=text.encode(), mode=0o644),)


def unchanged(facts: Facts, option_id: str) -> Unchanged | None:
    """An unreadable file is not "nothing to do"."""
    cfg = cloud_config(facts)
    if cfg.broken and not problems(cfg):
        return Unchanged(
            f"not valid YAML, not judged: {', '.join(cfg.broken)} (fix or remove by hand)",
            unknown=True,
        )
    return None
