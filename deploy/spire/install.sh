#!/usr/bin/env bash
# Installs the pinned SPIRE release (server and agent binaries) into <repo>/.spire/bin.
#
#   deploy/spire/install.sh            # install (idempotent: a second run only checks)
#   SPIRE_INSTALL_FROM=release deploy/spire/install.sh   # skip Go, use the release tarball
#
# Where the binaries come from, in order:
#   1. <repo>/.spire/bin already holds both binaries at the pinned version: nothing to do.
#   2. The per-user cache ($XDG_CACHE_HOME or ~/.cache)/spiffe-node/spire-v<version>/bin holds
#      them: they are hard-linked (or copied) into .spire/bin.
#   3. Go is installed: they are built from the pinned tools module deploy/spire/tools (go.mod and
#      go.sum pin github.com/spiffe/spire) into the cache. GOMODCACHE and GOCACHE stay at Go's
#      defaults, so a machine that built once relinks in seconds. Needs a C compiler (sqlite: cgo).
#   4. Otherwise: the official release tarball for this architecture from GitHub, verified with
#      SHA-256 before it is unpacked.
#
# Environment:
#   SPIRE_BIN_DIR        where to install (default <repo>/.spire/bin)
#   SPIRE_CACHE_DIR      the binary cache (default ~/.cache/spiffe-node/spire-v<version>/bin)
#   SPIRE_INSTALL_FROM   auto (default), go or release
#   SPIRE_RELEASE_BASE_URL  a mirror of https://github.com/spiffe/spire/releases/download (same layout)
#   SPIRE_RELEASE_SHA256 expected SHA-256 of the release tarball; when set it must match as well
#                        as the checksum file published with the release
set -euo pipefail

readonly SPIRE_VERSION=1.13.3
readonly SPIRE_MODULE=github.com/spiffe/spire
readonly VERSION_PACKAGE="${SPIRE_MODULE}/pkg/common/version"

started_at=$(date +%s)
script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd -- "${script_dir}/../.." && pwd)
tools_dir="${script_dir}/tools"
bin_dir="${SPIRE_BIN_DIR:-${repo_root}/.spire/bin}"
cache_dir="${SPIRE_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/spiffe-node/spire-v${SPIRE_VERSION}/bin}"
install_from="${SPIRE_INSTALL_FROM:-auto}"

log() { printf 'install.sh: %s\n' "$*" >&2; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

# Prints the version a SPIRE binary reports, or nothing when it does not run.
binary_version() {
  [[ -x "$1" ]] || return 0
  "$1" --version 2>&1 | tr -d '[:space:]' || true
}

# True when both binaries in $1 exist and report exactly the pinned version.
has_pinned_binaries() {
  [[ "$(binary_version "$1/spire-server")" == "${SPIRE_VERSION}" ]] &&
    [[ "$(binary_version "$1/spire-agent")" == "${SPIRE_VERSION}" ]]
}

# Places the cached binaries in the install directory: a hard link when both live on the same
# file system, a copy otherwise. Each file is replaced atomically (rename).
link_into_bin_dir() {
  mkdir -p "${bin_dir}"
  local name
  for name in spire-server spire-agent; do
    rm -f "${bin_dir}/${name}.new"
    if ! ln "${cache_dir}/${name}" "${bin_dir}/${name}.new" 2>/dev/null; then
      cp "${cache_dir}/${name}" "${bin_dir}/${name}.new"
    fi
    chmod 0755 "${bin_dir}/${name}.new"
    mv -f "${bin_dir}/${name}.new" "${bin_dir}/${name}"
  done
}

build_with_go() {
  command -v go >/dev/null || die "Go is not installed; install Go or set SPIRE_INSTALL_FROM=release"
  if ! command -v "${CC:-cc}" >/dev/null && ! command -v gcc >/dev/null; then
    die "SPIRE's sqlite datastore needs cgo: install a C compiler (e.g. apt-get install gcc)"
  fi
  [[ -f "${tools_dir}/go.mod" && -f "${tools_dir}/go.sum" ]] ||
    die "the pinned tools module is missing: expected ${tools_dir}/go.mod and go.sum"
  local staging="${cache_dir}.build.$$"
  rm -rf "${staging}"
  mkdir -p "${staging}"
  log "building SPIRE v${SPIRE_VERSION} with $(go version | cut -d' ' -f3) (the first build takes several minutes)"
  # The linker flags are the ones SPIRE's release build uses, so --version prints the bare
  # version instead of "<version>-dev-unk".
  if ! (cd "${tools_dir}" &&
    CGO_ENABLED=1 GOBIN="${staging}" GOFLAGS="${GOFLAGS:-} -mod=readonly" go install \
      -ldflags "-s -w -X ${VERSION_PACKAGE}.gittag=${SPIRE_VERSION}" \
      "${SPIRE_MODULE}/cmd/spire-server" "${SPIRE_MODULE}/cmd/spire-agent"); then
    rm -rf "${staging}"
    die "go install of SPIRE failed (see the output above; the module is pinned in ${tools_dir}/go.mod); without a Go module proxy, SPIRE_INSTALL_FROM=release downloads the release instead"
  fi
  mkdir -p "${cache_dir}"
  mv -f "${staging}/spire-server" "${staging}/spire-agent" "${cache_dir}/"
  rm -rf "${staging}"
}

download_release() {
  local arch
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64 | Linux/amd64) arch=amd64 ;;
    Linux/aarch64 | Linux/arm64) arch=arm64 ;;
    *) die "no SPIRE release build for $(uname -s)/$(uname -m); install Go and rerun to build from source" ;;
  esac
  command -v curl >/dev/null || die "curl is needed to download the SPIRE release"
  command -v sha256sum >/dev/null || die "sha256sum (coreutils) is needed to verify the SPIRE release"

  local base="${SPIRE_RELEASE_BASE_URL:-https://github.com/spiffe/spire/releases/download}/v${SPIRE_VERSION}"
  local tarball="spire-${SPIRE_VERSION}-linux-${arch}-musl.tar.gz"
  local sums="spire-${SPIRE_VERSION}-linux-${arch}-musl_sha256sum.txt"
  local work
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: work is local to this function
  trap "rm -rf '${work}'" EXIT

  log "downloading ${base}/${tarball}"
  curl -fsSL --retry 3 --connect-timeout 20 -o "${work}/${tarball}" "${base}/${tarball}" ||
    die "download failed: ${base}/${tarball}"
  curl -fsSL --retry 3 --connect-timeout 20 -o "${work}/${sums}" "${base}/${sums}" ||
    die "download failed: ${base}/${sums}"

  # The checksum file published with the release lists "<sha256>  <tarball>".
  local published actual
  published=$(awk -v f="${tarball}" '$2 == f || $2 == "*" f { print $1; exit }' "${work}/${sums}")
  [[ "${published}" =~ ^[0-9a-f]{64}$ ]] || die "${sums} has no SHA-256 for ${tarball}"
  actual=$(sha256sum "${work}/${tarball}" | cut -d' ' -f1)
  [[ "${actual}" == "${published}" ]] ||
    die "SHA-256 mismatch for ${tarball}: got ${actual}, the release publishes ${published}"
  if [[ -n "${SPIRE_RELEASE_SHA256:-}" && "${actual}" != "${SPIRE_RELEASE_SHA256}" ]]; then
    die "SHA-256 mismatch for ${tarball}: got ${actual}, SPIRE_RELEASE_SHA256 is ${SPIRE_RELEASE_SHA256}"
  fi
  log "sha256 ${actual} verified against ${sums}"

  tar -xzf "${work}/${tarball}" -C "${work}" \
    "spire-${SPIRE_VERSION}/bin/spire-server" "spire-${SPIRE_VERSION}/bin/spire-agent" ||
    die "unexpected layout in ${tarball}"
  mkdir -p "${cache_dir}"
  mv -f "${work}/spire-${SPIRE_VERSION}/bin/spire-server" "${work}/spire-${SPIRE_VERSION}/bin/spire-agent" "${cache_dir}/"
  rm -rf "${work}"
  trap - EXIT
}

main() {
  case "${install_from}" in
    auto | go | release) ;;
    *) die "SPIRE_INSTALL_FROM must be auto, go or release (got '${install_from}')" ;;
  esac

  if has_pinned_binaries "${bin_dir}"; then
    log "SPIRE ${SPIRE_VERSION} already installed in ${bin_dir}"
  else
    mkdir -p "${cache_dir}"
    # One installer at a time per cache (CI jobs and tests may run this concurrently).
    exec 9>"${cache_dir}/.lock"
    if command -v flock >/dev/null; then flock 9; fi

    if has_pinned_binaries "${cache_dir}"; then
      log "using cached binaries from ${cache_dir}"
    elif [[ "${install_from}" == go || ("${install_from}" == auto && -n "$(command -v go)") ]]; then
      build_with_go
    else
      download_release
    fi
    has_pinned_binaries "${cache_dir}" || die "the binaries in ${cache_dir} do not report version ${SPIRE_VERSION} (got '$(binary_version "${cache_dir}/spire-server")'); delete that directory and rerun"
    link_into_bin_dir
    has_pinned_binaries "${bin_dir}" || die "the binaries in ${bin_dir} do not report version ${SPIRE_VERSION}"
  fi

  local version
  version=$("${bin_dir}/spire-server" --version 2>&1)
  printf 'spire-server --version: %s\n' "${version}"
  printf 'installed in %s (took %ss)\n' "${bin_dir}" "$(($(date +%s) - started_at))"
}

main "$@"
