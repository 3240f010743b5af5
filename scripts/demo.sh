#!/usr/bin/env bash
# make demo: start the local marketplace sandbox, activate one of its demo
# license codes with the CLI, and show the result. Everything lives in a
# temporary folder and, when gnome-keyring is installed, in a private keyring
# session, so the demo leaves nothing behind in the user's own keyring.
set -euo pipefail
bin=$(realpath "${1:-bin/iscdesk}")

if [ -z "${ISCDESK_DEMO_WORK:-}" ]; then
	ISCDESK_DEMO_WORK=$(mktemp -d)
	export ISCDESK_DEMO_WORK
	trap 'rm -rf "$ISCDESK_DEMO_WORK"' EXIT
	# A private keyring (fresh, in the temporary folder) where one can run.
	export HOME="$ISCDESK_DEMO_WORK" XDG_CONFIG_HOME="$ISCDESK_DEMO_WORK/config" XDG_DATA_HOME="$ISCDESK_DEMO_WORK/data"
	if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
		dbus-run-session -- bash -c 'echo -n demo | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$0" "$1"' "$0" "$bin" \
			2> >(grep -v "Failed to set fd limit" >&2)
	else
		"$0" "$bin"
	fi
	exit
fi

work=$ISCDESK_DEMO_WORK
sandbox_pid=""
stop_sandbox() { [ -z "$sandbox_pid" ] || { kill "$sandbox_pid" 2>/dev/null; wait "$sandbox_pid" 2>/dev/null || true; }; }
trap stop_sandbox EXIT

"$bin" sandbox --addr 127.0.0.1:0 --state "$work/sandbox.json" >"$work/sandbox.out" &
sandbox_pid=$!
for _ in $(seq 100); do
	grep -q '(released)' "$work/sandbox.out" 2>/dev/null && break
	sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/sandbox.out")
code=$(sed -n 's/^code: \(PL[0-9A-Z]*\) (ready)$/\1/p' "$work/sandbox.out" | head -n 1)
[ -n "$url" ] && [ -n "$code" ] || { echo "demo: the sandbox did not start:" >&2; cat "$work/sandbox.out" >&2; exit 1; }
# Credentials travel in the environment, never on a command line.
ISCDESK_AK=$(sed -n 's/^ak: //p' "$work/sandbox.out")
ISCDESK_SK=$(sed -n 's/^sk: //p' "$work/sandbox.out")
export ISCDESK_AK ISCDESK_SK ISCDESK_ENDPOINT="$url"

echo "== the local marketplace sandbox runs at $url with these demo codes:"
grep '^code: ' "$work/sandbox.out" | sed 's/^/   /'
echo
echo "== iscdesk fingerprint"
"$bin" fingerprint
echo
echo "== iscdesk activate $code"
"$bin" activate "$code"
echo
echo "== iscdesk status --offline --json   (the cached, sealed authorization; no network)"
"$bin" status --offline --json
echo
echo "== iscdesk activate on a code that was not delivered yet (exit code 3 expected)"
undelivered=$(sed -n 's/^code: \(PL[0-9A-Z]*\) (undelivered)$/\1/p' "$work/sandbox.out")
"$bin" activate "$undelivered" && exit 1 || echo "   exit code $?"
