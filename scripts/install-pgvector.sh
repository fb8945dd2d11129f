#!/usr/bin/env bash
# Installs pgvector into the local PostgreSQL on Debian, from Debian's own source package, where
# CREATE EXTENSION vector does not work yet; does nothing where it already does. Debian bookworm's
# PostgreSQL 15 has no pgvector package, but the trixie suite's pgvector source (0.8.x) builds
# against postgresql-server-dev-15 in about 20 s.
#
#   sudo bash scripts/install-pgvector.sh            # PostgreSQL on 127.0.0.1:5432, user postgres
#   PGHOST=db PGUSER=admin bash scripts/install-pgvector.sh
set -euo pipefail

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
# Without the server's notices ("database … does not exist, skipping").
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

works() {
  # In a scratch database, so no database of the user's gets the extension by accident.
  psql -d postgres -qAt -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS sluice_pgvector_probe" >/dev/null &&
    psql -d postgres -qAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE sluice_pgvector_probe" >/dev/null &&
    psql -d sluice_pgvector_probe -qAt -v ON_ERROR_STOP=1 -c "CREATE EXTENSION vector" >/dev/null
  local ok=$?
  psql -d postgres -qAt -c "DROP DATABASE IF EXISTS sluice_pgvector_probe" >/dev/null 2>&1 || true
  return $ok
}

if works 2>/dev/null; then
  echo "pgvector: CREATE EXTENSION vector already works; nothing to do"
  exit 0
fi

command -v apt-get >/dev/null || {
  echo "pgvector: not installed, and this is not Debian; see https://github.com/pgvector/pgvector#installation" >&2
  exit 1
}
major=$(psql -d postgres -qAt -c "SHOW server_version_num" | cut -c1-2)
echo "pgvector: building from Debian's source package for PostgreSQL $major"

sources=/etc/apt/sources.list.d/sluice-trixie-src.list
[ -f "$sources" ] || echo "deb-src http://deb.debian.org/debian trixie main" >"$sources"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "postgresql-server-dev-$major" build-essential dpkg-dev >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  apt-get source -qq pgvector >/dev/null 2>&1
  cd pgvector-*/
  make -s PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" OPTFLAGS="" >/dev/null
  make -s PG_CONFIG="/usr/lib/postgresql/$major/bin/pg_config" install >/dev/null
)

if works; then
  echo "pgvector: installed; CREATE EXTENSION vector works"
else
  echo "pgvector: built and installed, but CREATE EXTENSION vector still fails" >&2
  exit 1
fi
