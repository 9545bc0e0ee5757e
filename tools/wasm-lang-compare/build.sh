#!/usr/bin/env bash
# Builds the four wasm modules compared by run.mjs into ./build/.
#   build/as_simd.wasm           AssemblyScript, hand-written v128 builtins
#   build/c_simd.wasm            C (clang), hand-written wasm_simd128.h intrinsics
#   build/c_scalar.wasm          plain scalar C, clang auto-vectorizer, -O3 -msimd128
#   build/c_scalar_fastmath.wasm same source + -ffast-math (information only)
#   build/as_simd_noimm.wasm     as/kernels.ts with every constant load/store offset written
#                                as "ptr + N" instead of AS's immOffset argument, the form
#                                clang 14 emits (information only: isolates that one effect)
# Usage: bash tools/wasm-lang-compare/build.sh   (from anywhere)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$HERE/build"
ASC="$ROOT/node_modules/.bin/asc"
CLANG="${CLANG:-clang}"

missing=()
command -v "$CLANG" >/dev/null 2>&1 || missing+=("clang")
command -v wasm-ld >/dev/null 2>&1 || missing+=("wasm-ld")
if ((${#missing[@]})); then
  echo "build.sh: missing ${missing[*]}." >&2
  echo "  On Debian/Ubuntu install them with:  apt-get install -y clang lld" >&2
  echo "  (clang is in package 'clang', wasm-ld is in package 'lld')." >&2
  exit 2
fi
if [[ ! -x "$ASC" ]]; then
  echo "build.sh: $ASC not found; run 'npm ci' in $ROOT (devDependency 'assemblyscript')." >&2
  exit 2
fi

mkdir -p "$OUT"
echo "asc:   $("$ASC" --version)"
echo "clang: $("$CLANG" --version | head -n1)"
echo "lld:   $(wasm-ld --version | head -n1)"

set -x
"$ASC" "$HERE/as/kernels.ts" -O3 --runtime stub --importMemory --noAssert --enable simd \
  -o "$OUT/as_simd.wasm" -t "$OUT/as_simd.wat"
# Sensitivity variant (same flags): immOffset arguments rewritten as pointer additions.
perl -pe 's/\b(load<\w+>|v128\.load|v128\.load32_splat|v128\.load32_zero)\((\w+), (\d+)\)/$1($2 + $3)/g;
          s/\b(store<\w+>|v128\.store)\((\w+), ([^,()]+(?:\([^()]*\))?), (\d+)\)/$1($2 + $4, $3)/g' \
  "$HERE/as/kernels.ts" > "$OUT/as_simd_noimm.ts"
"$ASC" "$OUT/as_simd_noimm.ts" -O3 --runtime stub --importMemory --noAssert --enable simd \
  -o "$OUT/as_simd_noimm.wasm" -t "$OUT/as_simd_noimm.wat"

CFLAGS=(--target=wasm32 -O3 -msimd128 -ffreestanding -nostdlib
        -Wl,--no-entry -Wl,--import-memory)
"$CLANG" "${CFLAGS[@]}" "$HERE/c/kernels_simd.c"   -o "$OUT/c_simd.wasm"
"$CLANG" "${CFLAGS[@]}" "$HERE/c/kernels_scalar.c" -o "$OUT/c_scalar.wasm"
"$CLANG" "${CFLAGS[@]}" -ffast-math "$HERE/c/kernels_scalar.c" -o "$OUT/c_scalar_fastmath.wasm"
{ set +x; } 2>/dev/null

# Disassembly of the C modules for inspection (llvm-objdump ships with clang/llvm).
OBJDUMP="$(command -v llvm-objdump || ls /usr/bin/llvm-objdump-* 2>/dev/null | head -n1 || true)"
if [[ -n "$OBJDUMP" ]]; then
  for m in c_simd c_scalar c_scalar_fastmath; do "$OBJDUMP" -d "$OUT/$m.wasm" > "$OUT/$m.dis"; done
fi
ls -l "$OUT"/*.wasm
