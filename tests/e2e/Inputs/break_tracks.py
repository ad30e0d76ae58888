"""Damages a synthetic MUSDB folder the ways real data goes wrong: a missing
stem (track_0), a stem at another sample rate (track_1), a stem shorter than
a segment (track_2) and an unreadable stem (track_3). track_4 stays good."""
import os
import sys
import wave

root = os.path.join(sys.argv[1], "train")
os.remove(os.path.join(root, "track_0", "drums.wav"))


def rewrite(path, rate, frames):
    with wave.open(path, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00\x00\x00" * frames)


rewrite(os.path.join(root, "track_1", "vocals.wav"), 22050, 44100)
rewrite(os.path.join(root, "track_2", "bass.wav"), 44100, 100)
with open(os.path.join(root, "track_3", "other.wav"), "wb") as out:
    out.write(b"this is not audio")
