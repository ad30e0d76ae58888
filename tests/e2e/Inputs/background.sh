# Helpers for tests that run locorun in the background and act on it
# (stop_signal.sh, stop_ranks.sh); sourced after `set -m`, so that each
# background job is a process group of its own.

# guard JOB SECONDS: kills job JOB's process group after SECONDS, so that a
# test never hangs; the guard itself goes when the script exits.
guard() {
  (sleep "$2"; kill -9 -- -"$1") > /dev/null 2>&1 &
  local watchdog=$!
  trap "kill -- -$watchdog 2> /dev/null || true" EXIT
}

# await_lines FILE N SECONDS: waits until FILE has N lines (at most SECONDS).
await_lines() {
  local tries=$(($3 * 10))
  for _ in $(seq "$tries"); do
    [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 0
}
