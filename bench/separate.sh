#!/usr/bin/env bash
# Separation, lococ against upstream-style PyTorch inference, on the CPU
# with 2 threads, the same weights and the same song:
#   - seconds of audio separated per second: lococ (segments of the config's
#     length, overlap 0.25, --batch-segments N, default 1: a short song
#     leaves a larger batch partly empty) and PyTorch's whole-song
#     forward pass (bench/separate_torch.py; bench/.venv's modern PyTorch
#     when bench/venv.sh made it, else /usr/bin/python3's);
#   - memory: PyTorch's peak RSS grows with the song, fitted and solved for
#     the longest song that fits in 24 GiB; lococ's does not grow beyond the
#     song's own samples: peak RSS separating 1 and 10 minutes (stereo) with
#     a small model (tiny, one layer, at 8 kHz), less the audio buffers.
#   bench/separate.sh [CONFIG] [--seconds S] [--batch-segments N] [--set key=value]...
# Defaults: configs/musdb18_small.yaml, 8 s. fp32 on both sides
# (training.use_amp=false), as upstream's separate.py runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
config="$root/configs/musdb18_small.yaml"
if [[ $# -gt 0 && "$1" != --* ]]; then config="$1"; shift; fi
seconds=8
batch=1
sets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --batch-segments) batch="$2"; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 1 ;;
  esac
done
python=/usr/bin/python3
[[ -x "$root/bench/.venv/bin/python" ]] && python="$root/bench/.venv/bin/python"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=2

"$python" "$root/bench/separate_torch.py" "$config" "${sets[@]}" --set training.use_amp=false \
  --work "$work" --seconds "$seconds" --threads 2 > "$work/torch.json"
"$root/build/bin/lococ" "$config" "${sets[@]}" --set training.use_amp=false --mode separate \
  --batch-segments "$batch" -o "$work/sep.so"
/usr/bin/time -f '%e %M' -o "$work/lococ.time" "$root/build/bin/locorun" separate "$work/sep.so" \
  --weights "$work/weights.safetensors" "$work/song.wav" -o "$work/out" --quiet \
  --rescale off > /dev/null

# Bounded memory: 1 and 10 minutes through a small model.
small=(--set model.n_layers=1 --set dataset.sample_rate=8000 --set training.use_amp=false)
"$root/build/bin/lococ" "$root/configs/tiny.yaml" "${small[@]}" --mode separate \
  --batch-segments 8 -o "$work/tiny.so"
"$root/build/bin/lococ" "$root/configs/tiny.yaml" "${small[@]}" -o "$work/tiny-train.so"
"$root/build/bin/locorun" "$work/tiny-train.so" --synthetic --steps 1 --out "$work/tiny-ckpt" 2> /dev/null
for minutes in 1 10; do
  "$root/build/bin/locorun" make-synthetic "$work/long$minutes" --tracks 0 --test-tracks 1 \
    --seconds $((minutes * 60)) --sample-rate 8000 > /dev/null
  /usr/bin/time -f '%e %M' -o "$work/long$minutes.time" "$root/build/bin/locorun" separate \
    "$work/tiny.so" --weights "$work/tiny-ckpt" "$work/long$minutes/test/track_0/mixture.wav" \
    -o "$work/long-out$minutes" --quiet > /dev/null
done

"$python" - "$work" "$seconds" "$config" "$batch" <<'PY'
import json, sys
work, seconds, config, batch = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
torch = json.load(open(f"{work}/torch.json"))
wall, rss_kib = open(f"{work}/lococ.time").read().split()
lococ_rate = seconds / float(wall)
print(f"config {config}, a {seconds:g} s mono song, CPU, 2 threads, fp32; "
      f"lococ: {batch} segment(s) per step, overlap 0.25")
print(f"{'':34} {'lococ':>14} {'PyTorch ' + torch['torch']:>22}")
print(f"{'audio seconds per second':34} {lococ_rate:14.3f} {torch['audio_seconds_per_second']:22.3f}"
      f"   (lococ / PyTorch {lococ_rate / torch['audio_seconds_per_second']:.2f}x)")
print(f"{'peak RSS, this song':34} {int(rss_kib) / 1024:11.0f} MiB "
      f"{torch['runs'][-1]['peak_rss_bytes'] / 2**20:19.0f} MiB")
longest = torch["longest_song_in_24GiB_s"]
lengths = ", ".join(f"{r['seconds']:g}" for r in torch["runs"])
print(f"{'longest song in 24 GiB':34} {'unbounded':>14} "
      f"{(f'{longest:.0f} s' if longest else 'n/a'):>22}"
      f"   (PyTorch RSS grows {torch['rss_bytes_per_second_of_audio'] / 2**20:.0f} MiB per second of audio, "
      f"{torch['rss_fit']} fit over {lengths} s)")
peaks = {}
for minutes in (1, 10):
    wall, kib = open(f"{work}/long{minutes}.time").read().split()
    peaks[minutes] = int(kib) / 1024
# Audio buffers of the (stereo) song at the model's rate, float32: its two
# channels as read and four estimates of each.
buffers = lambda minutes: minutes * 60 * 8000 * 4 * (2 + 4 * 2) / 2**20
growth = peaks[10] - peaks[1]
print(f"lococ, tiny (1 layer) at 8 kHz: peak RSS 1 min {peaks[1]:.0f} MiB, 10 min {peaks[10]:.0f} MiB; "
      f"growth {growth:.0f} MiB, of which audio buffers {buffers(10) - buffers(1):.0f} MiB: "
      f"{growth - (buffers(10) - buffers(1)):.0f} MiB beyond them (bound: 64 MiB)")
PY
