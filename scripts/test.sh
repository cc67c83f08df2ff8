#!/usr/bin/env bash
# Installs what the test suite needs on Debian/Ubuntu, then runs lint, types and every test.
# The integration tests start a real OpenSSH server in a throw-away overlay of / and need root.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v busybox >/dev/null 2>&1 || need+=(busybox)
command -v dash >/dev/null 2>&1 || need+=(dash)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v sudo >/dev/null 2>&1 || need+=(sudo)  # the non-root operator tests log in as a sudo user
command -v curl >/dev/null 2>&1 || need+=(curl)  # the probe reads instance metadata with curl
# test-boot boots images under systemd-nspawn; its tests build a Debian image with mmdebstrap
command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# the browser test of `ami-wizard serve` (tests/integration/test_serve.py): headless chromium
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev,aws]'

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/vulture
# One worker per core (at most 4: each integration module runs its own sshd instances); a
# file's tests stay in one worker so the instances it shares are built once.
workers="${AMI_WIZARD_TEST_WORKERS:-$(nproc)}"
[ "$workers" -le 4 ] || workers=4
exec .venv/bin/pytest -q -n "$workers" --dist loadfile "$@"
