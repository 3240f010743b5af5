#!/bin/sh
# install.sh: silent installer of the iscdesk desktop client for Linux and
# macOS (docs/installer.md). It never prompts, with or without --silent.
# It installs two programs into PREFIX/bin: iscdesk (every command, static,
# needs no GUI library) and iscdesk-desktop (the window, which the desktop
# entry starts; `iscdesk` without arguments starts it too).
#
#   install.sh --silent [--prefix DIR] [--server URL] [--server-key KEY]
#              [--proxy URL] [--grace-days N] [--no-shortcuts]
#              [--config-dir DIR] [--log FILE]
#
# What it does, in this order, so that an interruption at any point leaves
# either the previous install or the new one in the live locations, never a
# half-written file, and running it again completes the install:
#   1. checks everything it can before touching anything (options, source
#      files, write permission);
#   2. creates the folders it needs and writes the manifest of everything it
#      is about to install (PREFIX/share/iscdesk/installed-files), so an
#      uninstall after an interruption still finds every file;
#   3. copies every file into a staging folder (PREFIX/share/iscdesk/staging)
#      and checks the copies;
#   4. moves each staged file into place: first next to its destination under
#      a temporary name (a copy only if the staging folder is on another file
#      system), then renamed over the live file, which is atomic;
#   5. removes files an earlier install put there that this one no longer
#      installs (shortcuts after --no-shortcuts), writes the final manifest.
#
# Settings (--server, --server-key, --proxy, --grace-days) become the
# machine-wide configuration (default /etc/iscdesk/config.json; on macOS
# /Library/Application Support/iscdesk/config.json). When any is given the
# file is replaced by a new one holding exactly the given settings (root's,
# mode 0644; never rewritten in place); when none is given an existing file is
# kept as it is, so an upgrade without options keeps them. The settings apply
# to every user, and the client refuses them when anyone but root can change
# the file or its folder: the folder is made root's, mode 0755, whenever a
# file is written (or, as root, the folder exists).
#
# Every run appends to a log (--log, default /var/log/iscdesk-install.log as
# root, $XDG_STATE_HOME/iscdesk/install.log otherwise). Exit status: 0 done,
# 1 failed (the log names the step and the reason), 2 usage error.
#
# Test hook: ISCDESK_INSTALL_PAUSE_AT=<step> makes the script stop at that
# step (it touches $ISCDESK_INSTALL_PAUSE_FILE, if set, then sleeps) so a test
# can kill it exactly there. Steps: begin planned staged config binary-temp
# (iscdesk next to its place) desktop-temp (the same for iscdesk-desktop)
# binary shortcuts cleanup finished.
set -eu
umask 022

NL='
'
self_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)
is_root=0
[ "$(id -u)" = 0 ] && is_root=1
os=$(uname -s)

usage() {
	cat <<'EOF'
usage: install.sh --silent [--prefix DIR] [--server URL] [--server-key KEY]
                  [--proxy URL] [--grace-days N] [--no-shortcuts]
                  [--config-dir DIR] [--log FILE]

  --prefix DIR      install below DIR (default /usr/local as root, ~/.local otherwise)
  --server URL      the vendor's license server (https://, or http:// to this machine only),
                    written to the machine-wide configuration
  --server-key KEY  the vendor's public key (base64 Ed25519, what `iscdesk-server keys show`
                    prints), pinned in the machine-wide configuration
  --proxy URL       proxy for outbound calls, written to the machine-wide configuration
  --grace-days N    offline grace period in days (0..365), written to the machine-wide configuration
  --no-shortcuts    do not install the desktop entry and the icon
  --config-dir DIR  folder of the machine-wide config.json (default /etc/iscdesk)
  --log FILE        append the log here (default /var/log/iscdesk-install.log as root)
  --silent          accepted for symmetry with the other installers: this script never prompts
EOF
}

# ---- options ---------------------------------------------------------------

silent=0 prefix='' prefix_set=0 server='' server_key='' proxy='' grace='' shortcuts=1
config_dir='' log_file='' bad=''
# Each setting is written only when given; "given" is tracked apart from the
# value so that an explicit empty value is a usage error, not "not given".
server_set=0 server_key_set=0 proxy_set=0 grace_set=0

# Options take their value as "--opt VALUE" or "--opt=VALUE".
while [ $# -gt 0 ]; do
	opt=$1 val='' has_val=0
	case $opt in
	--*=*) val=${opt#*=} opt=${opt%%=*} has_val=2 ;;
	esac
	case $opt in
	--prefix | --server | --server-key | --proxy | --grace-days | --config-dir | --log)
		if [ "$has_val" = 0 ]; then
			if [ $# -lt 2 ]; then
				bad="$opt needs a value"
				break
			fi
			val=$2 has_val=1
		fi
		;;
	esac
	case $opt in
	--silent | -s | -q | --quiet) silent=1 ;;
	--prefix) prefix=$val prefix_set=1 ;;
	--server) server=$val server_set=1 ;;
	--server-key) server_key=$val server_key_set=1 ;;
	--endpoint)
		bad="--endpoint is gone: the client talks to the vendor's license server now (--server URL --server-key KEY)"
		break
		;;
	--proxy) proxy=$val proxy_set=1 ;;
	--grace-days) grace=$val grace_set=1 ;;
	--config-dir) config_dir=$val ;;
	--log) log_file=$val ;;
	--no-shortcuts) shortcuts=0 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		bad="unknown option: $1"
		break
		;;
	esac
	case $has_val$opt in
	2--silent | 2--quiet | 2--no-shortcuts)
		bad="$opt takes no value"
		break
		;;
	esac
	if [ "$has_val" = 1 ]; then shift; fi
	shift
done

# ---- log -------------------------------------------------------------------

if [ -z "$log_file" ]; then
	if [ "$is_root" = 1 ]; then
		log_file=/var/log/iscdesk-install.log
	else
		log_file=${XDG_STATE_HOME:-${HOME:-/nonexistent}/.local/state}/iscdesk/install.log
	fi
fi
# A log that cannot be written must not stop the install: the messages still
# reach standard error.
mkdir -p -- "$(dirname -- "$log_file")" 2>/dev/null || :
if ! { : >>"$log_file"; } 2>/dev/null; then
	printf 'install.sh: warning: cannot write the log %s\n' "$log_file" >&2
	log_file=/dev/null
fi

# step names the phase running, for the log when something fails.
step=options
log() {
	printf '%s install.sh[%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$$" "$*" >>"$log_file" 2>/dev/null || :
	if [ "$silent" = 0 ]; then printf '%s\n' "$*"; fi
}
reported=0
fail() {
	log "FAILED at step $step: $*"
	printf 'install.sh: error: %s (log: %s)\n' "$*" "$log_file" >&2
	reported=1
	exit 1
}
usage_error() {
	log "usage error: $*"
	printf 'install.sh: %s\n' "$*" >&2
	usage >&2
	reported=1
	exit 2
}
# set -e stops at any unexpected failure; the trap makes sure the log then
# still says at which step it happened.
# shellcheck disable=SC2317 # called by the trap
on_exit() {
	rc=$?
	if [ "$rc" != 0 ] && [ "$reported" = 0 ]; then
		log "FAILED at step $step (exit status $rc)"
		printf 'install.sh: failed at step %s (log: %s)\n' "$step" "$log_file" >&2
	fi
}
trap on_exit EXIT
trap 'log "interrupted by a signal at step $step"; reported=1; exit 130' HUP INT TERM

pause_at() {
	if [ "${ISCDESK_INSTALL_PAUSE_AT:-}" = "$1" ]; then
		log "test hook: pausing at step $1"
		if [ -n "${ISCDESK_INSTALL_PAUSE_FILE:-}" ]; then : >"$ISCDESK_INSTALL_PAUSE_FILE"; fi
		sleep 600
	fi
}

[ -z "$bad" ] || usage_error "$bad"

# ---- checks before touching anything ----------------------------------------
step=preflight

# check_path NAME VALUE: an absolute path without the characters that the
# manifest (newline) or the desktop entry's Exec key (quotes, $, `, \, %)
# cannot carry.
check_path() {
	case $2 in
	/*) ;;
	*) usage_error "$1 must be an absolute path: $2" ;;
	esac
	case $2 in
	*"$NL"* | *'"'* | *'`'* | *'$'* | *\\* | *'%'*)
		usage_error "$1 must not contain newlines, quotes, \$, \`, \\ or %: $2"
		;;
	esac
}
# check_url NAME VALUE: http(s) with a host, and nothing that would need
# escaping in JSON, so the value is written verbatim.
check_url() {
	case $2 in
	http://?* | https://?*) ;;
	*) usage_error "$1 must be an http:// or https:// URL: $2" ;;
	esac
	case $2 in
	*[[:space:][:cntrl:]]* | *'"'* | *\\*)
		usage_error "$1 must not contain spaces, quotes or backslashes: $2"
		;;
	esac
}

if [ "$prefix_set" = 0 ]; then
	if [ "$is_root" = 1 ]; then prefix=/usr/local; else prefix=${HOME:?HOME is not set}/.local; fi
fi
check_path --prefix "$prefix"
# "/usr/local/" and "/usr/local" are the same install: one spelling in the
# manifest.
while :; do
	case $prefix in
	*?/) prefix=${prefix%/} ;;
	*) break ;;
	esac
done
[ "$prefix" != / ] || prefix=''

if [ -z "$config_dir" ]; then
	if [ "$os" = Darwin ]; then config_dir='/Library/Application Support/iscdesk'; else config_dir=/etc/iscdesk; fi
fi
check_path --config-dir "$config_dir"

if [ "$server_set" = 1 ]; then
	check_url --server "$server"
	# Plain http only to this machine, as the client requires.
	case $server in
	https://* | http://localhost | http://localhost[:/]* | http://127.* | 'http://[::1]'*) ;;
	*) usage_error "--server must be https:// (plain http:// only to this machine): $server" ;;
	esac
fi
if [ "$server_key_set" = 1 ]; then
	# The standard base64 of a 32-byte Ed25519 public key: 43 characters
	# and one '='.
	case $server_key in
	*[!A-Za-z0-9+/=]* | *=?*) usage_error "--server-key must be the base64 of the vendor's Ed25519 public key: $server_key" ;;
	esac
	if [ "${#server_key}" != 44 ] || [ "${server_key%=}" = "$server_key" ]; then
		usage_error "--server-key must be the base64 of the vendor's 32-byte Ed25519 public key (44 characters): $server_key"
	fi
fi
[ "$proxy_set" = 0 ] || check_url --proxy "$proxy"
if [ "$grace_set" = 1 ]; then
	case $grace in
	'' | *[!0-9]*) usage_error "--grace-days must be a whole number of days: $grace" ;;
	esac
	# Leading zeros must not make it octal; four digits cannot be in range.
	[ "${#grace}" -le 3 ] || usage_error "--grace-days must be 0..365: $grace"
	while :; do
		case $grace in
		0?*) grace=${grace#0} ;;
		*) break ;;
		esac
	done
	[ "$grace" -le 365 ] || usage_error "--grace-days must be 0..365: $grace"
fi
write_config=0
if [ "$server_set" = 1 ] || [ "$server_key_set" = 1 ] || [ "$proxy_set" = 1 ] || [ "$grace_set" = 1 ]; then write_config=1; fi
if [ "$os" = Darwin ] && [ "$shortcuts" = 1 ]; then
	# Desktop entries are a freedesktop.org convention; macOS ignores them.
	shortcuts=0
fi

version=unknown
if [ -f "$self_dir/VERSION" ]; then IFS= read -r version <"$self_dir/VERSION" || :; fi

bin_dir=$prefix/bin
bin=$bin_dir/iscdesk
desktop_bin=$bin_dir/iscdesk-desktop
data_dir=$prefix/share/iscdesk
manifest=$data_dir/installed-files
stage=$data_dir/staging
apps_dir=$prefix/share/applications
desktop=$apps_dir/iscdesk.desktop
icon_dir=$prefix/share/icons/hicolor/512x512/apps
icon=$icon_dir/iscdesk.png
config=$config_dir/config.json

# A proxy URL may carry a password: the log says only whether one was given.
proxy_note='(not given)'
[ "$proxy_set" = 0 ] || proxy_note='(given, not logged)'
log "install.sh $version started by uid $(id -u): prefix=${prefix:-/} config=$config shortcuts=$shortcuts settings: server=${server:-(not given)} server_key=${server_key:-(not given)} proxy=$proxy_note grace_days=${grace:-(not given)}"

for f in iscdesk iscdesk-desktop uninstall.sh; do
	[ -f "$self_dir/$f" ] || fail "$self_dir/$f is missing: run install.sh from the unpacked release archive"
done
if [ "$shortcuts" = 1 ]; then
	for f in iscdesk.png iscdesk.desktop; do
		[ -f "$self_dir/$f" ] || fail "$self_dir/$f is missing (or pass --no-shortcuts)"
	done
fi

# The window (iscdesk-desktop) links the GUI toolkit's system libraries
# (OpenGL, X11): without them it does not start. iscdesk, every command, is
# static and needs none. Worth a warning, not a refusal: a headless server
# needs no window, and the libraries can be installed after.
if command -v ldd >/dev/null 2>&1; then
	missing_libs=$(ldd "$self_dir/iscdesk-desktop" 2>/dev/null | sed -n 's/^[[:space:]]*\([^[:space:]]*\) => not found.*/\1/p' | tr '\n' ' ')
	if [ -n "$missing_libs" ]; then
		log "warning: libraries the desktop window (iscdesk-desktop) needs are missing: $missing_libs(Debian/Ubuntu: apt-get install libgl1 libx11-6); the command line (iscdesk) needs none"
		printf 'install.sh: warning: the desktop window (iscdesk-desktop) will not start: missing libraries: %s\n' "$missing_libs" >&2
	fi
fi

# sed_escape prints $1 escaped for the replacement text of s|…|…|.
sed_escape() { printf '%s\n' "$1" | sed 's/[&|]/\\&/g'; }

# nearest_existing DIR prints DIR or its nearest existing ancestor.
nearest_existing() {
	d=$1
	while [ ! -d "$d" ]; do d=$(dirname -- "$d"); done
	printf '%s\n' "$d"
}
writable_or_fail() {
	d=$(nearest_existing "$1")
	[ -w "$d" ] || fail "cannot write to $d (needed for $1): run as root or choose another $2"
}
writable_or_fail "$bin_dir" --prefix
writable_or_fail "$data_dir" --prefix
if [ "$shortcuts" = 1 ]; then
	writable_or_fail "$apps_dir" --prefix
	writable_or_fail "$icon_dir" --prefix
fi
if [ "$write_config" = 1 ]; then writable_or_fail "$config_dir" --config-dir; fi
for target in "$bin" "$desktop_bin" "$desktop" "$icon" "$config" "$data_dir/uninstall.sh"; do
	if [ -d "$target" ] && [ ! -L "$target" ]; then fail "$target is a folder; remove it first"; fi
done
pause_at begin

# ---- plan: folders and manifest ---------------------------------------------
step=plan

# Lists are newline-terminated strings; in_list tells whether one holds a
# line.
in_list() {
	case "$NL$2" in
	*"$NL$1$NL"*) return 0 ;;
	esac
	return 1
}

# The previous manifest (an earlier or interrupted install) says which
# folders an install created (they stay listed so that uninstall removes
# them), which files it installed (so that stale ones can be removed) and
# which configuration file it wrote.
old_dirs='' old_files='' old_configs=''
if [ -f "$manifest" ]; then
	while IFS= read -r line; do
		case $line in
		'dir '*)
			# A folder removed by hand since then is recreated only if needed.
			if [ -d "${line#dir }" ]; then old_dirs="$old_dirs${line#dir }$NL"; fi
			;;
		'file '*) old_files="$old_files${line#file }$NL" ;;
		'config '*) old_configs="$old_configs${line#config }$NL" ;;
		esac
	done <"$manifest"
	log "found the manifest of an earlier install: completing or replacing it"
fi

dirs=$old_dirs
# plan_dir DIR adds DIR's missing ancestors and DIR to $dirs, outermost
# first, so uninstall can remove them innermost first.
plan_dir() {
	d=$1 missing=''
	while [ ! -d "$d" ]; do
		missing="$d$NL$missing"
		d=$(dirname -- "$d")
	done
	while [ -n "$missing" ]; do
		d=${missing%%"$NL"*}
		missing=${missing#*"$NL"}
		in_list "$d" "$dirs" || dirs="$dirs$d$NL"
	done
}
plan_dir "$data_dir"
plan_dir "$bin_dir"
if [ "$shortcuts" = 1 ]; then
	plan_dir "$apps_dir"
	plan_dir "$icon_dir"
fi
if [ "$write_config" = 1 ]; then plan_dir "$config_dir"; fi

files="$bin$NL$desktop_bin$NL$data_dir/uninstall.sh$NL"
if [ "$shortcuts" = 1 ]; then files="$files$desktop$NL$icon$NL"; fi
# Without settings an earlier configuration stays, and stays listed.
configs=$old_configs
if [ "$write_config" = 1 ]; then configs="$config$NL"; fi

# minus A B prints the lines of A that are not in B.
minus() {
	rest=$1
	while [ -n "$rest" ]; do
		in_list "${rest%%"$NL"*}" "$2" || printf '%s\n' "${rest%%"$NL"*}"
		rest=${rest#*"$NL"}
	done
}
# Files of the earlier install that this one does not install: removed at
# the end, and listed in the manifest until then.
stale_files=$(minus "$old_files" "$files")
stale_configs=$(minus "$old_configs" "$configs")
[ -z "$stale_files" ] || stale_files="$stale_files$NL"
[ -z "$stale_configs" ] || stale_configs="$stale_configs$NL"

# write_manifest FILES CONFIGS writes the manifest atomically.
write_manifest() {
	tmp=$(mktemp "$data_dir/.installed-files.XXXXXX")
	{
		echo '# iscdesk installed-files: written by install.sh, read by uninstall.sh'
		echo 'format 1'
		echo "version $version"
		echo "prefix ${prefix:-/}"
		print_list dir "$dirs"
		print_list file "$1"
		print_list config "$2"
	} >"$tmp"
	chmod 644 "$tmp"
	mv -f -- "$tmp" "$manifest"
}
print_list() {
	rest=$2
	while [ -n "$rest" ]; do
		printf '%s %s\n' "$1" "${rest%%"$NL"*}"
		rest=${rest#*"$NL"}
	done
}

rest=$dirs
while [ -n "$rest" ]; do
	d=${rest%%"$NL"*}
	rest=${rest#*"$NL"}
	if [ ! -d "$d" ]; then mkdir -p -- "$d" || fail "cannot create the folder $d"; fi
done
write_manifest "$files$stale_files" "$configs$stale_configs" || fail "cannot write the manifest $manifest"
log "folders ready, manifest written: $manifest"
pause_at planned

# ---- stage ------------------------------------------------------------------
step=stage

# A staging folder left by an interrupted run may hold a partial copy: start
# over from the source every time.
rm -rf -- "$stage"
mkdir -- "$stage"
# stage_copy SRC NAME MODE copies and checks one file.
stage_copy() {
	cp -- "$1" "$stage/$2" || fail "cannot copy $1 to the staging folder"
	chmod "$3" "$stage/$2"
	cmp -s -- "$1" "$stage/$2" || fail "the staged copy of $1 differs from the source"
}
stage_copy "$self_dir/iscdesk" iscdesk 755
stage_copy "$self_dir/iscdesk-desktop" iscdesk-desktop 755
stage_copy "$self_dir/uninstall.sh" uninstall.sh 755
if [ "$shortcuts" = 1 ]; then
	stage_copy "$self_dir/iscdesk.png" iscdesk.png 644
	# The entry starts the window directly (iscdesk without arguments would
	# only exec it), and TryExec hides the entry when the window is gone.
	# Exec takes a quoted argument (the path may hold spaces); Icon and
	# TryExec take plain strings.
	sed -e "s|@EXEC@|\"$(sed_escape "$desktop_bin")\"|g" -e "s|@TRYEXEC@|$(sed_escape "$desktop_bin")|g" \
		-e "s|@ICON@|$(sed_escape "$icon")|g" -e "s|@VERSION@|$(sed_escape "$version")|g" \
		"$self_dir/iscdesk.desktop" >"$stage/iscdesk.desktop" || fail "cannot render the desktop entry"
	chmod 644 "$stage/iscdesk.desktop"
fi
if [ "$write_config" = 1 ]; then
	# The values were checked to need no JSON escaping.
	{
		echo '{'
		sep=''
		if [ "$server_set" = 1 ]; then
			printf '%s  "server": "%s"' "$sep" "$server"
			sep=",$NL"
		fi
		if [ "$server_key_set" = 1 ]; then
			printf '%s  "server_key": "%s"' "$sep" "$server_key"
			sep=",$NL"
		fi
		if [ "$proxy_set" = 1 ]; then
			printf '%s  "proxy": "%s"' "$sep" "$proxy"
			sep=",$NL"
		fi
		if [ "$grace_set" = 1 ]; then printf '%s  "grace_days": %s' "$sep" "$grace"; fi
		printf '\n}\n'
	} >"$stage/config.json" || fail "cannot write the configuration to the staging folder"
	# Users' clients read the machine-wide file; only root may change it.
	chmod 644 "$stage/config.json"
fi
log "staged in $stage"
pause_at staged

# ---- move into place ----------------------------------------------------------

# place NAME DEST moves a staged file over DEST. The first mv lands next to
# DEST (a copy when the staging folder is on another file system, so it may
# be interrupted half-way, but under a temporary name); the second is a
# rename within one folder, atomic: DEST is always the old or the new file.
place() {
	tmp=$(dirname -- "$2")/.$(basename -- "$2").iscdesk-new
	mv -f -- "$stage/$1" "$tmp" || fail "cannot move $1 next to $2"
	case $1 in
	iscdesk) pause_at binary-temp ;;
	iscdesk-desktop) pause_at desktop-temp ;;
	esac
	mv -f -- "$tmp" "$2" || fail "cannot rename $tmp to $2"
	log "installed $2"
}
step=config
# Only root may be able to change the machine-wide settings (as another
# user, the folder is that user's: the client then refuses it as
# machine-wide, which it is not). Done before anything is placed in the
# folder, so that nobody else can swap a file there meanwhile.
if [ "$write_config" = 1 ] || { [ "$is_root" = 1 ] && [ -d "$config_dir" ]; }; then
	if [ "$is_root" = 1 ]; then chown 0 "$config_dir" || fail "cannot make root the owner of $config_dir"; fi
	chmod 755 "$config_dir" || fail "cannot set the mode of $config_dir"
fi
if [ "$write_config" = 1 ]; then
	place config.json "$config"
elif [ "$is_root" = 1 ] && [ -f "$config" ] && [ -n "$(find -H "$config" -prune \( ! -user 0 -o -perm -020 -o -perm -002 \) -print)" ]; then
	# Kept as it is (no settings given), but not root's alone: the client
	# refuses it. Its content is not copied into a file of root's: it may be
	# what another user planted.
	log "warning: $config can be changed by another user than root, so iscdesk refuses it: run install.sh again with the settings to replace it, or remove it"
	printf 'install.sh: warning: %s can be changed by another user than root, so iscdesk refuses it: run install.sh again with the settings to replace it, or remove it\n' "$config" >&2
fi
pause_at config
step=binary
place iscdesk "$bin"
place iscdesk-desktop "$desktop_bin"
place uninstall.sh "$data_dir/uninstall.sh"
pause_at binary
step=shortcuts
if [ "$shortcuts" = 1 ]; then
	place iscdesk.png "$icon"
	place iscdesk.desktop "$desktop"
fi
pause_at shortcuts

# ---- clean up -------------------------------------------------------------------
step=cleanup

rest=$stale_files$stale_configs
while [ -n "$rest" ]; do
	f=${rest%%"$NL"*}
	rest=${rest#*"$NL"}
	rm -f -- "$f" "$(dirname -- "$f")/.$(basename -- "$f").iscdesk-new" || fail "cannot remove $f, which the earlier install put there"
	log "removed $f (installed earlier, not by this install)"
done
rm -rf -- "$stage"
pause_at cleanup
write_manifest "$files" "$configs" || fail "cannot write the manifest $manifest"
log "install complete: iscdesk $version in ${prefix:-/}"
pause_at finished
exit 0
