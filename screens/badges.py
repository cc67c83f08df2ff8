"""Status badges and group names shared by the screens: words first, colour second, so they
read the same with NO_COLOR."""

from __future__ import annotations

from rich.text import Text

from wizard.model import Status

BADGE = {
    Status.PASS: ("PASS", "bold green"),
    Status.FAIL: ("FAIL", "bold red"),
    Status.WARN: ("WARN", "bold yellow"),
    Status.INFO: ("INFO", "bold blue"),
    Status.SKIP: ("SKIP", "dim"),
    Status.ERROR: ("ERR!", "bold magenta"),
}

GROUP_TITLES = {
    "ssh-access": "SSH access",
    "accounts": "Accounts",
    "keys-credentials": "Keys and credentials",
    "traces": "Traces",
    "first-boot": "First boot",
    "identity": "Identity",
    "account": "AWS account",
}

# Statuses that count as done on the progress bar.
DONE = {Status.PASS, Status.SKIP, Status.INFO}


def badge(status: Status | None) -> Text:
    if status is None:
        return Text("[ .. ]", style="dim")
    word, style = BADGE[status]
    return Text(f"[{word}]", style=style)
