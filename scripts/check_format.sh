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
  if ! command -v git-clang-format-19 > /dev/null; then
    echo "check_format: skipped (needs git-clang-format-19)"
    exit 77
  fi
  if ! git rev-parse --verify --quiet "$1^{commit}" > /dev/null; then
    echo "check_format: '$1' is not a commit" >&2
    exit 2
  fi
  # Exit 0: nothing to change; 1: a diff (printed); else an error.
  status=0
  diff=$(git clang-format-19 --binary "$format" --diff "$1" -- \
         '*.cpp' '*.h' '*.cu' '*.cuh') || status=$?
  if [ $status -gt 1 ]; then
    echo "$diff" >&2
    echo "check_format: git clang-format-19 failed (status $status)" >&2
    exit 2
  fi
  case "$diff" in
    ""|"no modified files to format"|"clang-format did not modify any files")
      echo "check_format: the lines changed since $1 are formatted"
      exit 0 ;;
  esac
  echo "$diff"
  echo "check_format: lines changed since $1 are not formatted; run" \
       "git clang-format-19 $1"
  exit 1
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
