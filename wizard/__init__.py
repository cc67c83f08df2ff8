"""ami-wizard engine: targets, the one-round-trip probe, the sshd_config model,
checks orchestration, reports and signing."""

__version__ = "0.1.0"
