"""Integration tests against a real OpenSSH server in a disposable instance."""
