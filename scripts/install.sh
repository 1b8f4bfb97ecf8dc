#!/bin/sh
# Installs the aws-pipeline-steps binaries from a release archive, checked against its
# SHA-256 before anything is unpacked or run.
#
#   TOOLKIT_RELEASE_URL=https://artifacts.example.com/aws-pipeline-steps sh install.sh
#   TOOLKIT_RELEASE_URL=s3://my-org-tools/aws-pipeline-steps sh install.sh --version 0.1.0
#   sh install.sh --prefix "$HOME/.local" --from-source /path/to/checkout
#
# Settings (flags win over the environment):
#   --version V     TOOLKIT_VERSION       the version to install (default: this script's)
#   --url URL       TOOLKIT_RELEASE_URL   where the release is: an HTTPS (or HTTP) base URL or
#                                         s3://bucket/prefix (needs the AWS CLI); it holds
#                                         <VERSION>/SHA256SUMS and <VERSION>/<archive>
#   --prefix DIR    TOOLKIT_PREFIX        installs DIR/bin/<binary> (default /usr/local, or
#                                         $HOME/.local when /usr/local is not writable)
#   --from-source DIR                     when no release can be downloaded, build the
#                                         checkout in DIR with cargo instead (never without it)
#
# A missing file, a network error or a checksum mismatch is a message and a non-zero exit;
# nothing is installed from an archive that was not fully downloaded and verified.
set -eu

TOOLKIT_DEFAULT_VERSION=0.1.0
BINARIES="template-scan iam-policy-validate cucumber-report stackset-update china-deploy fis-trigger"

version="${TOOLKIT_VERSION:-$TOOLKIT_DEFAULT_VERSION}"
url="${TOOLKIT_RELEASE_URL:-}"
prefix="${TOOLKIT_PREFIX:-}"
source_dir=""

say() { printf 'install.sh: %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="$2"; shift 2 ;;
    --url) url="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    --from-source) source_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) say "unknown argument $1 (see --help)"; exit 2 ;;
  esac
done

if [ -z "$prefix" ]; then
  if [ -w /usr/local/bin ] || { [ ! -e /usr/local/bin ] && [ -w /usr/local ]; }; then
    prefix=/usr/local
  else
    prefix="$HOME/.local"
  fi
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64|Linux-amd64) target=x86_64-linux-gnu ;;
  Linux-aarch64|Linux-arm64) target=aarch64-linux-gnu ;;
  *) target="" ;;
esac
archive="aws-pipeline-steps-$version-$target.tar.gz"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT INT TERM

# fetch NAME: the release file NAME into $work/NAME, or fail.
fetch() {
  case "$url" in
    s3://*)
      command -v aws >/dev/null 2>&1 || fail "the AWS CLI is needed to download from $url"
      aws s3 cp --only-show-errors "$url/$version/$1" "$work/$1" \
        || fail "could not download $url/$version/$1"
      ;;
    http://*|https://*)
      if command -v curl >/dev/null 2>&1; then
        curl --fail --silent --show-error --location --retry 3 --output "$work/$1" "$url/$version/$1" \
          || fail "could not download $url/$version/$1"
      elif command -v wget >/dev/null 2>&1; then
        wget --quiet --tries=3 --output-document="$work/$1" "$url/$version/$1" \
          || fail "could not download $url/$version/$1"
      else
        fail "neither curl nor wget is installed"
      fi
      ;;
    *) fail "TOOLKIT_RELEASE_URL (or --url) must be https://..., http://... or s3://..., not '$url'" ;;
  esac
}

place() { # dir-with-bin: installs its binaries, each renamed into place so none is half-written
  mkdir -p "$prefix/bin" || fail "cannot create $prefix/bin"
  for b in $BINARIES; do
    [ -x "$1/$b" ] || fail "$b is missing from the release"
    cp "$1/$b" "$prefix/bin/.$b.new" && chmod 755 "$prefix/bin/.$b.new" \
      && mv -f "$prefix/bin/.$b.new" "$prefix/bin/$b" \
      || fail "cannot write $prefix/bin/$b"
  done
}

from_source() {
  [ -n "$source_dir" ] || return 1
  [ -f "$source_dir/Cargo.toml" ] || fail "--from-source $source_dir: no Cargo.toml there"
  command -v cargo >/dev/null 2>&1 || fail "--from-source needs cargo (https://rustup.rs)"
  say "building $version from $source_dir (this takes minutes)"
  for b in $BINARIES; do set -- "$@" -p "$b"; done
  (cd "$source_dir" && cargo build --locked --release "$@") || fail "the build failed"
  place "${CARGO_TARGET_DIR:-$source_dir/target}/release"
  say "installed $version into $prefix/bin (built from source)"
  exit 0
}

if [ -z "$url" ]; then
  from_source || fail "set TOOLKIT_RELEASE_URL to where your organisation keeps the releases (or pass --from-source DIR)"
fi
[ -n "$target" ] || { from_source || fail "no release for $(uname -s) $(uname -m); pass --from-source DIR to build one"; }

downloaded=true
( fetch SHA256SUMS && fetch "$archive" ) || downloaded=false
if [ "$downloaded" = false ]; then
  from_source || exit 1
fi

expected="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$work/SHA256SUMS")"
[ -n "$expected" ] || fail "SHA256SUMS of $version lists no $archive"
if command -v sha256sum >/dev/null 2>&1; then
  actual="$(sha256sum "$work/$archive" | cut -d' ' -f1)"
else
  actual="$(shasum -a 256 "$work/$archive" | cut -d' ' -f1)"
fi
[ "$actual" = "$expected" ] || fail "$archive does not match its checksum (expected $expected, got $actual): not installed"

mkdir "$work/unpacked"
tar -xzf "$work/$archive" -C "$work/unpacked" || fail "$archive cannot be unpacked: not installed"
root="$work/unpacked/aws-pipeline-steps-$version-$target"
[ -d "$root/bin" ] || fail "$archive does not hold aws-pipeline-steps-$version-$target/bin"
place "$root/bin"
for d in completions man; do
  if [ -d "$root/$d" ]; then
    mkdir -p "$prefix/share/aws-pipeline-steps" && cp -R "$root/$d" "$prefix/share/aws-pipeline-steps/" || true
  fi
done
say "installed $version ($(cat "$root/COMMIT" 2>/dev/null | cut -c1-12)) into $prefix/bin: $BINARIES"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) say "add $prefix/bin to PATH" ;;
esac
