#!/bin/sh
# uninstall.sh: silent uninstaller of the iscdesk desktop client for Linux and
# macOS (docs/installer.md). It never prompts, with or without --silent.
#
#   uninstall.sh --silent [--prefix DIR] [--purge] [--config-dir DIR] [--log FILE]
#
# It removes what install.sh recorded in PREFIX/share/iscdesk/installed-files
# (the binaries iscdesk and iscdesk-desktop, the desktop entry and icon, the machine-wide config.json the
# install wrote, the folders the install created once they are empty) and
# nothing else. Without a manifest (an install interrupted before writing
# it) it removes the files an install would have put below PREFIX.
# --config-dir DIR also removes DIR/config.json (and DIR when empty).
#
# Every step runs even when an earlier one failed; the exit status is then 1
# and the log lists what failed. The manifest is removed last, and after a
# failure it is rewritten to list what is left, so running the uninstall
# again (once the cause is fixed) finishes the job.
#
# --purge also removes cached authorizations: it runs `iscdesk forget` as the
# user running the uninstall (the OS keyring entry or the encrypted file of
# that user), then deletes the encrypted-file fallback (authorization.sealed
# and install.secret in the iscdesk config folder) of every user whose home
# is /root, /var/root, /home/* or /Users/* when run as root, or of the
# current user otherwise. Other users' OS keyring entries cannot be reached
# from here (they are locked in those users' sessions); each user removes
# them with `iscdesk forget`. Users' own settings (config.json) are kept.
#
# Every run appends to a log (--log, default /var/log/iscdesk-uninstall.log
# as root, $XDG_STATE_HOME/iscdesk/uninstall.log otherwise): it lives outside
# the prefix so that the uninstall can leave the prefix as it found it.
#
# Test hook: ISCDESK_PURGE_HOMES (home folders, one per line) replaces the
# list of homes --purge visits.
set -eu
umask 022

NL='
'
self_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)
is_root=0
[ "$(id -u)" = 0 ] && is_root=1

usage() {
	cat <<'EOF'
usage: uninstall.sh --silent [--prefix DIR] [--purge] [--config-dir DIR] [--log FILE]

  --prefix DIR      the prefix given to install.sh (default: the install this script
                    belongs to, else /usr/local as root, ~/.local otherwise)
  --purge           also remove cached authorizations (see the comment at the top)
  --config-dir DIR  also remove DIR/config.json (the manifest names the one the install wrote)
  --log FILE        append the log here (default /var/log/iscdesk-uninstall.log as root)
  --silent          accepted for symmetry with the other installers: this script never prompts
EOF
}

silent=0 prefix='' prefix_set=0 purge=0 config_dir='' log_file='' bad=''
while [ $# -gt 0 ]; do
	opt=$1 val='' has_val=0
	case $opt in
	--*=*) val=${opt#*=} opt=${opt%%=*} has_val=2 ;;
	esac
	case $opt in
	--prefix | --config-dir | --log)
		if [ "$has_val" = 0 ]; then
			if [ $# -lt 2 ]; then
				bad="$opt needs a value"
				break
			fi
			val=$2 has_val=1
		fi
		;;
	--silent | --quiet | --purge)
		if [ "$has_val" = 2 ]; then
			bad="$opt takes no value"
			break
		fi
		;;
	esac
	case $opt in
	--silent | -s | -q | --quiet) silent=1 ;;
	--prefix) prefix=$val prefix_set=1 ;;
	--config-dir) config_dir=$val ;;
	--log) log_file=$val ;;
	--purge) purge=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		bad="unknown option: $1"
		break
		;;
	esac
	if [ "$has_val" = 1 ]; then shift; fi
	shift
done

# ---- log ---------------------------------------------------------------------

if [ -z "$log_file" ]; then
	if [ "$is_root" = 1 ]; then
		log_file=/var/log/iscdesk-uninstall.log
	else
		log_file=${XDG_STATE_HOME:-${HOME:-/nonexistent}/.local/state}/iscdesk/uninstall.log
	fi
fi
mkdir -p -- "$(dirname -- "$log_file")" 2>/dev/null || :
if ! { : >>"$log_file"; } 2>/dev/null; then
	printf 'uninstall.sh: warning: cannot write the log %s\n' "$log_file" >&2
	log_file=/dev/null
fi
log() {
	printf '%s uninstall.sh[%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$$" "$*" >>"$log_file" 2>/dev/null || :
	if [ "$silent" = 0 ]; then printf '%s\n' "$*"; fi
}
failures=0
# failed records a failed step and carries on.
failed() {
	failures=$((failures + 1))
	log "FAILED: $*"
	printf 'uninstall.sh: %s\n' "$*" >&2
}
trap 'log "interrupted by a signal; run the uninstall again to finish"; exit 130' HUP INT TERM

if [ -n "$bad" ]; then
	log "usage error: $bad"
	printf 'uninstall.sh: %s\n' "$bad" >&2
	usage >&2
	exit 2
fi

# ---- what to remove ------------------------------------------------------------

if [ "$prefix_set" = 0 ]; then
	# The copy install.sh leaves in PREFIX/share/iscdesk knows its prefix.
	if [ -f "$self_dir/installed-files" ]; then
		prefix=$(sed -n 's/^prefix //p' "$self_dir/installed-files" | head -n 1)
	fi
	if [ -z "$prefix" ]; then
		if [ "$is_root" = 1 ]; then prefix=/usr/local; else prefix=${HOME:?HOME is not set}/.local; fi
	fi
fi
case $prefix in
/*) ;;
*)
	log "usage error: --prefix must be an absolute path: $prefix"
	printf 'uninstall.sh: --prefix must be an absolute path: %s\n' "$prefix" >&2
	exit 2
	;;
esac
while :; do
	case $prefix in
	*?/) prefix=${prefix%/} ;;
	*) break ;;
	esac
done
[ "$prefix" != / ] || prefix=''

bin=$prefix/bin/iscdesk
desktop_bin=$prefix/bin/iscdesk-desktop
data_dir=$prefix/share/iscdesk
manifest=$data_dir/installed-files

log "uninstall.sh started by uid $(id -u): prefix=${prefix:-/} purge=$purge"

in_list() {
	case "$NL$2" in
	*"$NL$1$NL"*) return 0 ;;
	esac
	return 1
}

dirs='' files='' configs=''
if [ -f "$manifest" ]; then
	while IFS= read -r line; do
		case $line in
		'dir '*) dirs="$dirs${line#dir }$NL" ;;
		'file '*) files="$files${line#file }$NL" ;;
		'config '*) configs="$configs${line#config }$NL" ;;
		esac
	done <"$manifest" || failed "cannot read the manifest $manifest"
else
	log "no manifest at $manifest: removing the files an install puts below ${prefix:-/}"
	files="$bin$NL$desktop_bin$NL$data_dir/uninstall.sh$NL$prefix/share/applications/iscdesk.desktop$NL$prefix/share/icons/hicolor/512x512/apps/iscdesk.png$NL"
fi
if [ -n "$config_dir" ]; then
	in_list "$config_dir/config.json" "$configs" || configs="$configs$config_dir/config.json$NL"
	in_list "$config_dir" "$dirs" || dirs="$dirs$config_dir$NL"
fi

# ---- purge: cached authorizations -------------------------------------------------

# purge_fallback DIR removes the encrypted-file store of one user.
purge_fallback() {
	if [ -L "$1" ]; then
		# A link could point anywhere, for example into another user's files.
		log "skipped $1: it is a symbolic link"
		return 0
	fi
	[ -d "$1" ] || return 0
	for name in authorization.sealed install.secret; do
		if [ -e "$1/$name" ] || [ -L "$1/$name" ]; then
			if msg=$(rm -f -- "$1/$name" 2>&1) && [ ! -e "$1/$name" ]; then
				log "removed the cached authorization file $1/$name"
			else
				failed "cannot remove the cached authorization file $1/$name: $msg"
			fi
		fi
	done
	# The folder goes only when nothing else (the user's settings) is in it.
	rmdir -- "$1" 2>/dev/null || :
}

if [ "$purge" = 1 ]; then
	# `forget` needs the binary, so it runs before the files go.
	if [ -x "$bin" ]; then
		# A keyring that hangs must not hang the uninstall.
		to=''
		if command -v timeout >/dev/null 2>&1; then to='timeout 60'; fi
		# $to is deliberately split into the command and its argument.
		# shellcheck disable=SC2086
		if msg=$($to "$bin" forget </dev/null 2>&1); then
			log "iscdesk forget: $msg"
		else
			failed "iscdesk forget failed (exit status $?): $msg"
		fi
	else
		log "skipped iscdesk forget: $bin is missing; removing the encrypted-file records directly"
	fi
	if [ -n "${ISCDESK_PURGE_HOMES:-}" ]; then
		homes="$ISCDESK_PURGE_HOMES$NL"
	elif [ "$is_root" = 1 ]; then
		homes="/root$NL/var/root$NL"
		for h in /home/* /Users/*; do
			if [ -d "$h" ]; then homes="$homes$h$NL"; fi
		done
	else
		homes="${HOME:-/nonexistent}$NL"
	fi
	rest=$homes
	while [ -n "$rest" ]; do
		h=${rest%%"$NL"*}
		rest=${rest#*"$NL"}
		[ -n "$h" ] || continue
		purge_fallback "$h/.config/iscdesk"
		purge_fallback "$h/Library/Application Support/iscdesk"
	done
	if [ "$is_root" = 0 ] && [ -n "${XDG_CONFIG_HOME:-}" ]; then purge_fallback "$XDG_CONFIG_HOME/iscdesk"; fi
fi

# ---- files -------------------------------------------------------------------------

left_files='' left_configs=''
# remove PATH removes one file and the temporary sibling an interrupted
# install may have left next to it; prints the path when it stays.
remove() {
	tmp=$(dirname -- "$1")/.$(basename -- "$1").iscdesk-new
	for f in "$1" "$tmp"; do
		if [ -e "$f" ] || [ -L "$f" ]; then
			if msg=$(rm -f -- "$f" 2>&1) && [ ! -e "$f" ] && [ ! -L "$f" ]; then
				log "removed $f"
			else
				failed "cannot remove $f: ${msg:-it is still there}"
				return 1
			fi
		fi
	done
	return 0
}
rest=$files
while [ -n "$rest" ]; do
	f=${rest%%"$NL"*}
	rest=${rest#*"$NL"}
	remove "$f" || left_files="$left_files$f$NL"
done
rest=$configs
while [ -n "$rest" ]; do
	f=${rest%%"$NL"*}
	rest=${rest#*"$NL"}
	remove "$f" || left_configs="$left_configs$f$NL"
done

# The install's own data: its staging folder and temporary manifests.
if [ -e "$data_dir/staging" ]; then
	if msg=$(rm -rf -- "$data_dir/staging" 2>&1) && [ ! -e "$data_dir/staging" ]; then
		log "removed $data_dir/staging"
	else
		failed "cannot remove $data_dir/staging: $msg"
	fi
fi
for f in "$data_dir"/.installed-files.*; do
	if [ -e "$f" ]; then remove "$f" || :; fi
done

# ---- manifest and folders ----------------------------------------------------------

# remove_dirs tries the folders innermost first (the reverse of the order
# install.sh created them in); one that is not empty holds something the
# install did not put there, and stays.
remove_dirs() {
	rev=''
	rest=$dirs
	while [ -n "$rest" ]; do
		rev="${rest%%"$NL"*}$NL$rev"
		rest=${rest#*"$NL"}
	done
	rest=$rev
	while [ -n "$rest" ]; do
		d=${rest%%"$NL"*}
		rest=${rest#*"$NL"}
		if [ -d "$d" ]; then
			if rmdir -- "$d" 2>/dev/null; then log "removed the folder $d"; else log "kept the folder $d: it is not empty"; fi
		fi
	done
}

if [ "$failures" = 0 ]; then
	[ ! -e "$manifest" ] || remove "$manifest" || :
	remove_dirs
	# The install's own folder, even when it existed before (it is named
	# after this program).
	if [ -d "$data_dir" ] && rmdir -- "$data_dir" 2>/dev/null; then log "removed the folder $data_dir"; fi
fi
if [ "$failures" != 0 ]; then
	remove_dirs
	if [ -d "$data_dir" ]; then
		# What is left, so that running the uninstall again finishes it.
		kept_dirs=''
		rest=$dirs
		while [ -n "$rest" ]; do
			d=${rest%%"$NL"*}
			rest=${rest#*"$NL"}
			if [ -d "$d" ]; then kept_dirs="$kept_dirs$d$NL"; fi
		done
		if tmp=$(mktemp "$data_dir/.installed-files.XXXXXX" 2>/dev/null) && {
			echo '# iscdesk installed-files: what an uninstall could not remove'
			echo 'format 1'
			echo "prefix ${prefix:-/}"
			for pair in "dir:$kept_dirs" "file:$left_files" "config:$left_configs"; do
				kind=${pair%%:*}
				rest=${pair#*:}
				while [ -n "$rest" ]; do
					printf '%s %s\n' "$kind" "${rest%%"$NL"*}"
					rest=${rest#*"$NL"}
				done
			done
		} >"$tmp" && chmod 644 "$tmp" && mv -f -- "$tmp" "$manifest"; then
			log "the manifest $manifest now lists what is left"
		else
			rm -f -- "${tmp:-}" 2>/dev/null || :
			log "could not rewrite the manifest $manifest"
		fi
	fi
	log "uninstall finished with $failures failed step(s); see the FAILED lines above"
	printf 'uninstall.sh: %s step(s) failed (log: %s)\n' "$failures" "$log_file" >&2
	exit 1
fi
log "uninstall complete"
exit 0
