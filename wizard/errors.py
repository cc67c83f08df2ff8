"""The small error hierarchy of ami-wizard.

Errors are caught at the edges (CLI, screens) and shown as one line; a traceback is
only shown with --debug.
"""


class WizardError(Exception):
    """Base of every error ami-wizard reports to the operator as one line."""


class UsageError(WizardError):
    """Bad command-line input or a bad plan/config file (exit code 2)."""


class TargetError(WizardError):
    """The target cannot be reached, authenticated or trusted (exit code 2)."""


class HostKeyError(TargetError):
    """The host key is unknown (and not accepted) or has changed."""


class ProbeError(WizardError):
    """The probe script failed or its output could not be parsed."""


class ApplyError(WizardError):
    """A fix could not be applied; the target is left as it was or undoable."""


class SignatureError(WizardError):
    """A signature could not be made or does not verify."""
