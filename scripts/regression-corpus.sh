#!/usr/bin/env bash
# Builds, once, a test corpus: a plain pg_dumpall of a PostgreSQL 15 cluster in which PostgreSQL's own
# regression suite ran (pg_regress, parallel schedule), as PostgreSQL's pg_upgrade test does with its
# "regression" database. The dump is cached outside the repository and its path printed on stdout:
#   scripts/regression-corpus.sh [OUT_FILE]    # OUT_FILE: also copy the dump there
#
# Cache: ${PGUPGRADE_CACHE:-/var/tmp/pgupgrade-cache}/regression-15/<key>/regression.sql, where <key> is
# the Debian source version of postgresql-client-15 (whose pg_regress, psql and pg_dumpall are used, and
# whose exact source and headers are fetched) plus the server's version: upgrading either rebuilds.
# A hit costs a dpkg-query and a `postgres --version`.
#
# A build needs, beyond a Debian deb archive: its deb-src (added below when missing), the packages
# postgresql-client-15, gcc, libc6-dev, bzip2, xz-utils (and lbzip2, if present, unpacks in 9 s
# instead of 15: not installed here, as installing it alone costs as much), and the
# zonky 15 server binaries (installed with scripts/pg-binaries.sh when missing). As root it installs
# what is missing; otherwise it says what to install. It downloads, never commits: the source tarball
# of postgresql-15 and the postgresql-server-dev-15 .deb (only its headers are used: installing it
# would pull clang and llvm-dev, some 300 MB, for nothing).
#
# The server is the zonky build the tests use (15.x from Maven Central), not Debian's postgresql-15:
# the test modules (regress.so, refint.so, autoinc.so) are compiled against Debian's headers of the same
# major, and the magic block (major, FUNC_MAX_ARGS, INDEX_MAX_KEYS, NAMEDATALEN, float8 by value) is
# the same, so they load. They stay in the cache next to the dump because the dump names them:
# CREATE FUNCTION ... AS '<cache>/<key>/lib/regress.so'.
# Failing regression tests are expected and do not matter, only the state they leave does (with
# client 15.18 and zonky 15.19: alter_table, because 15.19 also locks the referenced index when adding
# a foreign key). The build fails if pg_regress could not run (exit 2), a backend crashed, or the
# database is missing or small.
# Restoring the dump into 17/18 needs scripts/datasets/regression-adjust-for-upgrade.sql run on it first.
set -euo pipefail
umask 022 # the server user reads the sources and modules root extracts and builds

major=15
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out_file=${1:-}
# Absolute: the dump names the modules by their path in it.
cache=$(realpath -m "${PGUPGRADE_CACHE:-/var/tmp/pgupgrade-cache}/regression-$major")
client_pkg=postgresql-client-$major
clientbin=/usr/lib/postgresql/$major/bin
pg_regress=/usr/lib/postgresql/$major/lib/pgxs/src/test/regress/pg_regress

# shellcheck source=scripts/debian-lib.sh
source "$root/scripts/debian-lib.sh"
log_name=regression-corpus

as_user=()
if ((is_root)); then
  server_user=${PGUPGRADE_SERVER_USER:-nobody}
  # initdb and postgres refuse root: the server (and pg_regress, whose COPY ... TO writes files as
  # the server) run as an unprivileged user, as in scripts/pg-cluster.sh.
  as_user=(setpriv --reuid="$server_user" --regid="$(id -g "$server_user")" --clear-groups)
fi

# --- the cache key, cheaply: it is all a cache hit costs ---
if ! debver=$(dpkg-query -W -f='${source:Version}' "$client_pkg" 2>/dev/null) || [[ -z $debver ]]; then
  if ((is_root)); then ensure_deb_src; fi # now, so that one apt-get update serves both
  install_packages "$client_pkg"
  debver=$(dpkg-query -W -f='${source:Version}' "$client_pkg")
fi
[[ -x $pg_regress ]] || die "$pg_regress is missing although $client_pkg is installed"
pghome=${PG_HOME:-$("$root/scripts/pg-home.sh")}   # as the Makefile passes it
serverbin=$pghome/$major/bin
if [[ ! -x $serverbin/postgres ]]; then
  log "installing the zonky PostgreSQL $major binaries into $pghome"
  "$root/scripts/pg-binaries.sh" "$pghome" "$major" >&2
fi
[[ $("$serverbin/postgres" --version) =~ \)[[:space:]]+([0-9][0-9.]*) ]] || die "cannot read the version of $serverbin/postgres"
server_version=${BASH_REMATCH[1]}
key=${debver}_zonky-$server_version
keydir=$cache/$key
dump=$keydir/regression.sql

deliver() {
  [[ -z $out_file ]] || cp -- "$dump" "$out_file"
  printf '%s\n' "$dump"
}
if [[ -s $dump ]]; then deliver; exit 0; fi

# --- cold: build under a lock, so that concurrent callers build once ---
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ -s $dump ]]; then deliver; exit 0; fi
started=$SECONDS
log "building the regression corpus in $keydir (once: about a minute)"

if ((is_root)) && ! "${as_user[@]}" test -x "$cache"; then
  die "the server user $server_user cannot reach $cache: set PGUPGRADE_CACHE to a directory it can (e.g. under /var/tmp)"
fi

ensure_deb_src # before any install, so that one apt-get update serves both
need=()
command -v gcc >/dev/null || need+=(gcc)
[[ -f /usr/include/stdio.h ]] || need+=(libc6-dev)
command -v bzip2 >/dev/null || need+=(bzip2)
command -v xz >/dev/null || need+=(xz-utils)
install_packages "${need[@]}"

src_pkg=$(dpkg-query -W -f='${source:Package}' "$client_pkg")
dev_pkg=postgresql-server-dev-$major
# The exact version must be in the indexes; after an upgrade of the client they may predate it.
has_versions() {
  # No grep -q in a pipe: its early exit would fail apt-cache (SIGPIPE) and so the pipe (pipefail).
  apt-cache showsrc --only-source "$src_pkg" 2>/dev/null | grep -Fx -e "Version: $debver" >/dev/null &&
    apt-cache show "$dev_pkg=$debver" >/dev/null 2>&1
}
if ! has_versions; then
  ((is_root)) || die "the apt indexes lack $src_pkg $debver: apt-get update (as root)"
  apt_update
  has_versions || log "the indexes offer no $src_pkg $debver source with its $dev_pkg: another version of the major will do"
fi

rm -rf "$keydir"
mkdir -p "$keydir/lib" "$keydir/download" "$keydir/src" "$keydir/dev"
work=$keydir/work
datadir=$work/data
server_started=0
regress_pid=
cleanup() {
  local rc=$?
  if [[ -n $regress_pid ]]; then kill "$regress_pid" 2>/dev/null || true; fi
  if ((server_started)); then
    "${as_user[@]}" "$serverbin/pg_ctl" -D "$datadir" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  ((rc == 0)) || log "failed after $((SECONDS - started)) s; what was built is in $keydir"
}
trap cleanup EXIT
trap 'exit 130' INT # signals exit through cleanup too
trap 'exit 143' TERM

# apt downloads as the _apt user, which needs to write into the directory (or it warns).
if ((is_root)) && id _apt >/dev/null 2>&1; then chown _apt "$keydir/download"; fi
# The client's exact version first. A mirror can list a source it does not serve (seen: the security
# archive's index named 15.20 while its files were 404): then the newest other version of the same
# major the indexes offer with its headers, whose tests and regress.c fit any server of that major
# (modules are checked against the major only).
candidates=("$debver")
while IFS= read -r v; do
  [[ $v != "$debver" ]] && apt-cache show "$dev_pkg=$v" >/dev/null 2>&1 && candidates+=("$v")
done < <(apt-cache showsrc --only-source "$src_pkg" 2>/dev/null | sed -n 's/^Version: //p' | sort -u -r -V)
fetched=
for v in "${candidates[@]}"; do
  log "downloading $src_pkg $v source and $dev_pkg headers"
  if (cd "$keydir/download" && apt-get source -q --download-only "$src_pkg=$v" >&2 && apt-get download -q "$dev_pkg=$v" >&2); then
    fetched=$v; break
  fi
  log "$src_pkg $v could not be downloaded; trying the next version the indexes offer"
  rm -rf "${keydir:?}/download"; mkdir -p "$keydir/download"
  if ((is_root)) && id _apt >/dev/null 2>&1; then chown _apt "$keydir/download"; fi
done
[[ -n $fetched ]] || die "no version of $src_pkg and $dev_pkg could be downloaded (tried ${candidates[*]})"

# Only src/test/regress (tests, regress.c) and contrib/spi (refint.c, autoinc.c) are needed: unpack
# just those from the upstream tarball unless a Debian patch changes them, then unpack it all (and
# patch) with dpkg-source.
log "unpacking"
dl=("$keydir"/download/*)
orig='' debian_tar='' dsc=''
for f in "${dl[@]}"; do
  case $f in
    *.orig.tar.*) orig=$f ;;
    *.debian.tar.*) debian_tar=$f ;;
    *.dsc) dsc=$f ;;
  esac
done
[[ -n $orig && -n $debian_tar && -n $dsc ]] || die "apt-get source did not bring a 3.0 (quilt) source package"
if tar -xf "$debian_tar" -O --wildcards 'debian/patches/*' 2>/dev/null |
  grep -E '^\+\+\+ [^/[:space:]]*/(src/test/regress|contrib/spi)/' >/dev/null; then # no -q: see has_versions
  command -v dpkg-source >/dev/null || install_packages dpkg-dev
  log "Debian patches the regression tests: unpacking the whole source with dpkg-source"
  rm -rf "$keydir/src"
  dpkg-source -q -x "$dsc" "$keydir/src" >&2
else
  unpacker=()
  [[ $orig == *.bz2 ]] && command -v lbzip2 >/dev/null && unpacker=(-I lbzip2)
  tar "${unpacker[@]}" -xf "$orig" -C "$keydir/src" --no-same-owner --strip-components=1 \
    --wildcards '*/src/test/regress' '*/contrib/spi'
fi
regress=$keydir/src/src/test/regress
[[ -f $regress/regress.c && -f $regress/parallel_schedule ]] || die "no src/test/regress in $orig"

# The headers only: unpacking the .deb avoids installing clang/llvm it depends on. The flags are the
# ones PostgreSQL's code relies on (pg_config --cflags has them, with Debian's hardening on top).
dpkg-deb -x "$keydir"/download/"$dev_pkg"_*.deb "$keydir/dev"
inc=$keydir/dev/usr/include/postgresql/$major/server
[[ -f $inc/postgres.h ]] || die "no server headers in the $dev_pkg package"
cflags=(-O2 -fPIC -shared -Wall -fno-strict-aliasing -fwrapv -fexcess-precision=standard -I"$inc")
log "compiling regress.so, refint.so, autoinc.so"
gcc "${cflags[@]}" -o "$keydir/lib/regress.so" "$regress/regress.c"
# REFINT_VERBOSE as contrib/spi/Makefile sets it "for the regression tests": refint's NOTICEs.
gcc "${cflags[@]}" -DREFINT_VERBOSE -o "$keydir/lib/refint.so" "$keydir/src/contrib/spi/refint.c"
gcc "${cflags[@]}" -o "$keydir/lib/autoinc.so" "$keydir/src/contrib/spi/autoinc.c"

# A private server, reachable only by its socket in the work directory: no port to collide on.
mkdir -p "$work"
((is_root)) && chown "$server_user" "$work"
chmod 700 "$work"
"${as_user[@]}" "$serverbin/initdb" -D "$datadir" -U postgres -A trust -E UTF8 --locale=C >"$keydir/initdb.log" 2>&1 ||
  { cat "$keydir/initdb.log" >&2; die "initdb failed"; }
# max_prepared_transactions as pg_regress's own temporary instance sets it (the prepared_xacts test);
# durability off: this cluster is thrown away. 9>&-: the server must not inherit (and so hold) the
# cache lock, were it ever left running.
server_started=1
"${as_user[@]}" "$serverbin/pg_ctl" -D "$datadir" -l "$work/server.log" -w -t 120 \
  -o "-c listen_addresses= -c unix_socket_directories=$work -c max_prepared_transactions=2 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null 9>&- || { cat "$work/server.log" >&2; die "the server did not start"; }

log "running the regression suite (parallel schedule)"
rc=0
# pg_regress runs as the server user too: the server writes COPY ... TO files into its results/.
# In the background, and waited for: bash runs a trap only between commands, so a SIGTERM would
# otherwise wait the whole suite out before cleaning up.
"${as_user[@]}" "$pg_regress" --inputdir="$regress" --outputdir="$work/regress" --bindir="$clientbin" \
  --dlpath="$keydir/lib" --host="$work" --port=5432 --user=postgres \
  --schedule="$regress/parallel_schedule" --max-concurrent-tests=20 >"$keydir/regression.out" 2>&1 9>&- &
regress_pid=$!
wait "$regress_pid" || rc=$?
regress_pid=
# Kept for whoever wonders what the suite did: which tests failed and how.
if [[ -f $work/regress/regression.diffs ]]; then cp "$work/regress/regression.diffs" "$keydir/"; fi
((rc <= 1)) || { tail -n 30 "$keydir/regression.out" >&2; die "pg_regress could not run the suite (exit $rc)"; }
if grep -q 'terminated by signal' "$work/server.log"; then
  grep 'terminated by signal' "$work/server.log" >&2
  die "a backend crashed during the suite: see $work/server.log"
fi
tables=$("$clientbin/psql" -X -A -t -h "$work" -p 5432 -U postgres -d regression -c "SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
((tables > 100)) || die "the regression database has only $tables tables: the suite did not run through"
summary=$(grep -Eo '(All [0-9]+ tests passed|[0-9]+ of [0-9]+ tests (failed|passed))' "$keydir/regression.out" || true)
log "suite done (${summary:-no summary line}; failures are expected), $tables tables in public"
log "dumping"

"$clientbin/pg_dumpall" -h "$work" -p 5432 -U postgres -f "$dump.tmp"
"${as_user[@]}" "$serverbin/pg_ctl" -D "$datadir" -m fast -w stop >/dev/null
server_started=0
rm -rf "${work:?}" "${keydir:?}/src" "${keydir:?}/dev" "${keydir:?}/download"
mv "$dump.tmp" "$dump"
log "done: $(du -h "$dump" | cut -f1)"
deliver
