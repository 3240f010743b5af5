#!/usr/bin/env bash
# make demo: the whole chain on loopback. The local marketplace sandbox
# stands in for the marketplace; the vendor's license server (iscdesk-server,
# SQLite in a temporary folder) holds the sandbox's AK/SK and asks it; the
# desktop (iscdesk) activates one of the demo codes with the server, knowing
# only the server's URL and its public key, then validates the signed token
# offline. Everything lives in a temporary folder and, when gnome-keyring is
# installed, in a private keyring session, so the demo leaves nothing behind
# in the user's own keyring.
set -euo pipefail
bin=$(realpath "${1:-bin/iscdesk}")
server_bin=$(realpath "${2:-bin/iscdesk-server}")

if [ -z "${ISCDESK_DEMO_WORK:-}" ]; then
	ISCDESK_DEMO_WORK=$(mktemp -d)
	export ISCDESK_DEMO_WORK
	trap 'rm -rf "$ISCDESK_DEMO_WORK"' EXIT
	# A private keyring (fresh, in the temporary folder) where one can run.
	export HOME="$ISCDESK_DEMO_WORK" XDG_CONFIG_HOME="$ISCDESK_DEMO_WORK/config" XDG_DATA_HOME="$ISCDESK_DEMO_WORK/data"
	if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
		# shellcheck disable=SC2016 # expanded by the inner shell
		dbus-run-session -- bash -c 'echo -n demo | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "$0" "$1" "$2"' "$0" "$bin" "$server_bin" \
			2> >(grep -v "Failed to set fd limit" >&2)
	else
		"$0" "$bin" "$server_bin"
	fi
	exit
fi

work=$ISCDESK_DEMO_WORK
pids=()
stop_all() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || :; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || :; done
}
trap stop_all EXIT

# wait_for FILE PATTERN: until a line of FILE matches (10 s at most).
wait_for() {
	for _ in $(seq 100); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "demo: no '$2' in $1:" >&2
	cat "$1" >&2
	exit 1
}

"$bin" sandbox --addr 127.0.0.1:0 --state "$work/sandbox.json" >"$work/sandbox.out" &
pids+=($!)
wait_for "$work/sandbox.out" '(released)'
marketplace=$(sed -n 's/^listening on //p' "$work/sandbox.out")
code=$(sed -n 's/^code: \(PL[0-9A-Z]*\) (ready)$/\1/p' "$work/sandbox.out" | head -n 1)
undelivered=$(sed -n 's/^code: \(PL[0-9A-Z]*\) (undelivered)$/\1/p' "$work/sandbox.out")

# The vendor's side: a signing key, then the server with the marketplace
# AK/SK in its environment, never on a command line, never on the desktop.
"$server_bin" init --dir "$work/server" >"$work/init.out"
server_key=$(sed -n 's/^vendor key: //p' "$work/init.out")
(
	ISCDESK_AK=$(sed -n 's/^ak: //p' "$work/sandbox.out")
	ISCDESK_SK=$(sed -n 's/^sk: //p' "$work/sandbox.out")
	ISCDESK_CALLBACK_KEY=$(sed -n 's/^callback_key: //p' "$work/sandbox.out")
	export ISCDESK_AK ISCDESK_SK ISCDESK_CALLBACK_KEY
	exec "$server_bin" serve --dir "$work/server" --addr 127.0.0.1:0 --marketplace "$marketplace" \
		>"$work/server.out" 2>"$work/server.log"
) &
pids+=($!)
wait_for "$work/server.out" '^listening on '
server=$(sed -n 's/^listening on //p' "$work/server.out")
if [ -z "$server_key" ] || [ -z "$code" ]; then
	echo "demo: the server or the sandbox did not start" >&2
	exit 1
fi

# The desktop's side: the server's URL and its pinned key, as the
# installers' --server and --server-key write them machine-wide.
export ISCDESK_SERVER="$server" ISCDESK_SERVER_KEY="$server_key"
unset ISCDESK_AK ISCDESK_SK ISCDESK_CALLBACK_KEY
# Actions on the running sandbox (the marketplace's side of callbacks).
sandbox() { "$bin" sandbox "$@" --addr "${marketplace#http://}" --state "$work/sandbox.json"; }
sandbox vendor-url "$server/v1/marketplace/callbacks" >/dev/null

echo "== the marketplace sandbox runs at $marketplace with these demo codes:"
grep '^code: ' "$work/sandbox.out" | sed 's/^/   /'
echo "== the vendor's license server runs at $server (SQLite in a temporary folder); its public key:"
echo "   $server_key"
echo
echo "== iscdesk fingerprint"
"$bin" fingerprint
echo
echo "== iscdesk activate $code   (the server binds a seat and signs an activation token)"
"$bin" activate "$code"
echo
echo "== iscdesk status --offline --json   (the token checked against the pinned key; no network)"
"$bin" status --offline --json
echo
echo "== iscdesk-server activations list   (the vendor's support desk sees the seat)"
"$server_bin" activations list --dir "$work/server"
echo
echo "== the marketplace asks the vendor for a device license (getLicenseAsync, signed callback);"
echo "   the server answers and delivers it through the marketplace's upload API"
sandbox license inst-demo --fingerprint "$("$bin" fingerprint)" --test-flag 1 >"$work/license.out"
sed 's/^/   /' "$work/license.out"
event=$(sed -n 's/^event: //p' "$work/license.out")
for _ in $(seq 100); do
	sandbox delivered "$event" >"$work/delivered.jwt" 2>/dev/null && break
	sleep 0.1
done
if [ ! -s "$work/delivered.jwt" ]; then
	echo "demo: the marketplace received no license for $event" >&2
	exit 1
fi
echo "   the marketplace received a device license of $(wc -c <"$work/delivered.jwt") bytes, signed by the vendor key"
echo
echo "== the marketplace releases $code (a refund) and calls the vendor back (releaseLicenseCode)"
sandbox release "$code" | sed 's/^/   /'
echo "== iscdesk status   (the next check learns it: exit code 3 expected)"
"$bin" status 2>&1 && exit 1 || echo "   exit code $?"
echo
echo "== iscdesk activate on a code that was not delivered yet (exit code 3 expected)"
"$bin" activate "$undelivered" 2>&1 && exit 1 || echo "   exit code $?"
