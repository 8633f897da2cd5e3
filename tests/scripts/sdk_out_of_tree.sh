#!/usr/bin/env bash
# Builds the example plugins the way a third party would — from a copy outside
# the source tree, against the installed SDK alone — then checks that the host
# lists them as loaded and can create, query and destroy an instance of each.
#
# Usage: sdk_out_of_tree.sh <source dir> <build dir>
# Set SB_KEEP_TEST_DIRS=1 to keep the temporary directory for a post-mortem.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 <source dir> <build dir>" >&2
  exit 2
fi
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
exe="$build/bin/switchboard"
examples=(c-echo cpp-memory-crm)

work=$(mktemp -d "${TMPDIR:-/tmp}/sb-sdk-out-of-tree.XXXXXX")
cleanup() {
  if [ -n "${SB_KEEP_TEST_DIRS:-}" ]; then
    echo "sdk_out_of_tree: kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

say() { echo "sdk_out_of_tree: $*"; }
fail() {
  echo "sdk_out_of_tree: FAILED: $*" >&2
  exit 1
}
# Runs a command with its output in a log; shows the log if it fails.
run_logged() {
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    return 1
  fi
}

[ -x "$exe" ] || fail "$exe does not exist; build the 'switchboard' target first"
[ -f "$build/sdk/cmake_install.cmake" ] || fail "$build/sdk is not a configured Switchboard build"

# 1. Install the SDK package only (headers, CMake package, ABI spec).
prefix="$work/sdk"
say "installing the SDK into $prefix"
run_logged "$work/install.log" cmake --install "$build/sdk" --prefix "$prefix" ||
  fail "cmake --install $build/sdk failed"
config=$(find "$prefix" -name SwitchboardSDKConfig.cmake -print -quit)
[ -n "$config" ] || fail "the install has no SwitchboardSDKConfig.cmake"
sdk_dir=$(dirname "$config")
for f in "$prefix/include/switchboard/plugin.h" "$prefix/include/switchboard/plugin.hpp" \
  "$sdk_dir/SwitchboardPlugin.cmake" "$sdk_dir/abi-1.json"; do
  [ -f "$f" ] || fail "the install lacks $f"
done

# 2. Build each example from a copy, seeing only the installed SDK. Warnings
#    are errors: the public headers must compile cleanly in a plugin's build.
plugin_path=""
for example in "${examples[@]}"; do
  copy="$work/src/$example"
  out="$work/build/$example"
  mkdir -p "$work/src"
  cp -R "$src/examples/plugins/$example" "$copy"
  say "building $example out of tree"
  run_logged "$work/$example-configure.log" cmake -S "$copy" -B "$out" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DCMAKE_C_FLAGS=-Werror -DCMAKE_CXX_FLAGS=-Werror ||
    fail "configuring $example against the installed SDK failed"
  found=$(sed -n 's/^SwitchboardSDK_DIR:PATH=//p' "$out/CMakeCache.txt")
  [ "$found" = "$sdk_dir" ] || fail "$example found the SDK in '$found', not in the fresh install $sdk_dir"
  run_logged "$work/$example-build.log" cmake --build "$out" -j 2 || fail "building $example failed"
  if grep -q -- "$src" "$out/compile_commands.json"; then
    fail "$example's build reached into the host source tree $src"
  fi
  [ -f "$out/plugins/$example/plugin.json" ] || fail "$example: no $out/plugins/$example/plugin.json"
  plugin_path="$plugin_path${plugin_path:+:}$out/plugins"
done

# 3. The host lists both as loaded.
say "switchboard plugins list --plugin-path $plugin_path"
list=$("$exe" plugins list --plugin-path "$plugin_path" 2>"$work/list.err") ||
  { cat "$work/list.err" >&2; fail "switchboard plugins list failed"; }
echo "$list"
for example in "${examples[@]}"; do
  line=$(awk -v id="$example" '$1 == id' <<<"$list")
  [ -n "$line" ] || fail "$example is not listed by switchboard plugins list"
  [ "$(awk '{print $5}' <<<"$line")" = "loaded" ] || fail "$example did not load: $line"
done

# 4. Each one survives create, status/capabilities and destroy.
for example in "${examples[@]}"; do
  say "switchboard plugins check $example"
  run_logged "$work/check-$example.log" "$exe" plugins check "$example" --plugin-path "$plugin_path" ||
    fail "switchboard plugins check $example failed"
done

say "OK: ${examples[*]} built against the installed SDK, loaded and checked"
