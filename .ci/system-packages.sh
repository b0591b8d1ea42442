#!/usr/bin/env bash
# The system packages the tests need: HAProxy and nginx, for the rolling-restart tests; systemd-notify and python3,
# for the systemd notify test and its stand-in manager; redis-server, for the BullMQ queue-worker recipe. Installed with apt when any is missing (sudo -n when not root), then their versions printed. /usr/sbin is not on every user's PATH;
# .ci/run adds it, as the tests' driver also looks there.
set -euo pipefail
PATH="$PATH:/usr/sbin"
if ! command -v haproxy >/dev/null 2>&1 || ! command -v nginx >/dev/null 2>&1 ||
	! command -v systemd-notify >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1 ||
	! command -v redis-server >/dev/null 2>&1; then
	SUDO=
	if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
	# Wait for a concurrent apt/dpkg (unattended upgrades on CI images) instead of failing on the lock.
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=300 update </dev/null
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get -qq -y -o DPkg::Lock::Timeout=300 \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		install --no-install-recommends haproxy nginx systemd python3 redis-server </dev/null >/dev/null
fi
# sed, not head: head would stop reading after one line, and pipefail would fail the run on the SIGPIPE.
haproxy -v | sed -n 1p
nginx -v 2>&1 | sed -n 1p
systemd-notify --version | sed -n 1p
redis-server --version | sed -n 1p
