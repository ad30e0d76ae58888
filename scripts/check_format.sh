#!/usr/bin/env bash
# Checks C++ and CUDA formatting against .clang-format (LLVM style) with
# clang-format-19 (setup.sh installs it).
#
#   scripts/check_format.sh          every tracked file (ctest source-format)
#   scripts/check_format.sh BASE     only the lines changed since BASE
#                                    (git clang-format; e.g. origin/main)
#
# Exit 77 (skipped) where clang-format-19 or git is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
format=$(command -v clang-format-19 || true)
if [ -z "$format" ] || ! git rev-parse --git-dir > /dev/null 2>&1; then
  echo "check_format: skipped (needs clang-format-19 and a git checkout)"
  exit 77
fi
if [ $# -ge 1 ]; then
  diff=$(git clang-format-19 --binary "$format" --diff "$1" -- \
         '*.cpp' '*.h' '*.cu' '*.cuh' || true)
  if [ -n "$diff" ] && [ "$diff" != "no modified files to format" ] &&
     [ "${diff#clang-format did not modify}" = "$diff" ]; then
    echo "$diff"
    echo "check_format: lines changed since $1 are not formatted; run" \
         "git clang-format-19 $1"
    exit 1
  fi
  echo "check_format: the lines changed since $1 are formatted"
  exit 0
fi
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh' |
                     grep -v '^tests/data/')
bad=0
for file in "${files[@]}"; do
  if ! "$format" --dry-run -Werror "$file" > /dev/null 2>&1; then
    echo "$file: not formatted (clang-format-19 -i $file)"
    bad=1
  fi
done
[ $bad -eq 0 ] && echo "check_format: ${#files[@]} files formatted"
exit $bad
