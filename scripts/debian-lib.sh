#!/usr/bin/env bash
# Sourced by the scripts that build test fixtures from Debian's packages (regression-corpus.sh,
# kube-binaries.sh): logging, installing what is missing as root (or saying what to install), and the
# deb-src entry `apt-get source` needs. The sourcing script sets log_name first; started, when set to
# $SECONDS, adds the elapsed time to each line.

started=
log() { echo "${log_name:-pgupgrade}:${started:+ [$((SECONDS - started)) s]} $*" >&2; }
die() { log "$*"; exit 1; }

is_root=0
if [[ $(id -u) == 0 ]]; then is_root=1; fi

# The Debian source version of an installed binary package (empty, failing, when it is not installed).
apt_source_version() {
  dpkg-query -W -f='${source:Version}' "$1" 2>/dev/null
}

# Our scripts may run at once (make test builds the Kubernetes binaries in the background while a test
# builds the regression corpus): apt-get refuses to run while another holds its lock, so ours take turns.
with_apt_lock() {
  flock /var/lib/apt/.pgupgrade-apt.lock "$@"
}

apt_updated=0
apt_update() {
  ((apt_updated)) && return 0
  ((is_root)) || die "the apt indexes are out of date: apt-get update (as root)"
  log "apt-get update"
  with_apt_lock apt-get update -q >&2
  apt_updated=1
}

# Installs the packages named, when running as root; otherwise explains.
install_packages() {
  (($#)) || return 0
  ((is_root)) || die "missing packages, install them (as root): apt-get install $*"
  apt_update
  log "installing $*"
  with_apt_lock env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2
}

# Debian images list only binary archives. `apt-get source` needs their deb-src twin: written, once,
# to a file of our own for the Debian archives Debian itself configures (debian.sources, or the
# one-line /etc/apt/sources.list of older images); third-party repositories are left alone, since
# many have no sources and would break apt-get update.
deb_src_file=/etc/apt/sources.list.d/pgupgrade-deb-src
has_deb_src() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    grep -Eq '^[[:space:]]*deb-src[[:space:]]|^Types:(.*[[:space:]])?deb-src([[:space:]]|$)' "$f" && return 0
  done
  return 1
}
# deb822 stanzas on stdin -> the same stanzas, for those of Types deb, with Types: deb-src.
deb822_to_deb_src() {
  local line stanza="" is_deb=0
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ -z ${line//[[:space:]]/} ]]; then
      ((is_deb)) && printf 'Types: deb-src\n%s\n' "$stanza"
      stanza="" is_deb=0
      continue
    fi
    [[ $line == \#* ]] && continue
    if [[ $line =~ ^Types:(.*)$ ]]; then
      [[ " ${BASH_REMATCH[1]} " =~ [[:space:]]deb[[:space:]] ]] && is_deb=1
      continue
    fi
    stanza+="$line"$'\n'
  done
  if ((is_deb)); then printf 'Types: deb-src\n%s\n' "$stanza"; fi
}
# one-line "deb [options] URI suite components" entries on stdin -> deb-src ones.
one_line_to_deb_src() {
  local line
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*deb[[:space:]]+(.*)$ ]] && printf 'deb-src %s\n' "${BASH_REMATCH[1]}"
  done
  return 0
}
ensure_deb_src() {
  has_deb_src && return 0
  ((is_root)) || die "no deb-src entry in /etc/apt: add one for the Debian archive (as root) and apt-get update"
  local text
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    text=$(deb822_to_deb_src </etc/apt/sources.list.d/debian.sources)
    [[ -n $text ]] || die "no Types: deb stanza in /etc/apt/sources.list.d/debian.sources"
    printf '# Written by pgupgrade scripts/debian-lib.sh: sources of the Debian archive, for apt-get source.\n%s\n' "$text" >"$deb_src_file.sources"
    log "added $deb_src_file.sources"
  elif [[ -f /etc/apt/sources.list ]]; then
    text=$(one_line_to_deb_src </etc/apt/sources.list)
    [[ -n $text ]] || die "no deb line in /etc/apt/sources.list"
    printf '# Written by pgupgrade scripts/debian-lib.sh: sources of the Debian archive, for apt-get source.\n%s\n' "$text" >"$deb_src_file.list"
    log "added $deb_src_file.list"
  else
    die "cannot find Debian's archive in /etc/apt to add its deb-src"
  fi
  apt_updated=0 # the indexes now lack the sources: the next apt_update must run
}

