"""Generate the display board's fallback audio clips (committed; rerun only to change them).

Boards without an Indonesian speech voice play these clips in sequence. One clip per word of
app.domain.speech.CLIP_VOCABULARY, plus a two-tone chime. Needs espeak-ng, sox and oggenc:

    apt-get install espeak-ng sox libsox-fmt-all vorbis-tools
    python display_board/make_clips.py

Clips are mono, 16 kHz, low-bitrate Ogg Vorbis with silence trimmed, so the whole set stays
small (about 220 KiB).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.domain.speech import CLIP_VOCABULARY  # noqa: E402

OUT = Path(__file__).resolve().parent / "static" / "audio"
VOICE = "id"
SPEED = "135"  # words per minute: slower than the default, for a big echoing hall
# How each clip name is said; letters are spelled the Indonesian way ("a", "be", "ce", ...).
LETTERS = {
    "a": "a", "b": "be", "c": "ce", "d": "de", "e": "e", "f": "ef", "g": "ge", "h": "ha",
    "i": "i", "j": "je", "k": "ka", "l": "el", "m": "em", "n": "en", "o": "o", "p": "pe",
    "q": "ki", "r": "er", "s": "es", "t": "te", "u": "u", "v": "ve", "w": "we", "x": "eks",
    "y": "ye", "z": "zet",
}  # fmt: skip
PHRASES = {"nomor_antrean": "nomor antrean", "silakan_menuju_loket": "silakan menuju loket"}


def spoken(name: str) -> str:
    return LETTERS.get(name) or PHRASES.get(name) or name.replace("_", " ")


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)  # noqa: S603 - a developer tool, fixed command


def encode(wav: Path, target: Path) -> None:
    """Trim silence, mono 16 kHz, Ogg Vorbis at the lowest quality that still sounds clear."""
    trimmed = wav.with_suffix(".t.wav")
    run("sox", str(wav), "-r", "16000", "-c", "1", str(trimmed),
        "silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse",
        "pad", "0", "0.05")
    run("oggenc", "-Q", "-q", "0", "--resample", "16000", "-o", str(target), str(trimmed))


def make_chime(tmp: Path, target: Path) -> None:
    """A soft two-note "ding-dong" (E5 then C5) with a decaying envelope."""
    ding, dong, wav = tmp / "ding.wav", tmp / "dong.wav", tmp / "chime.wav"
    for path, freq, length in ((ding, 659.25, "0.55"), (dong, 523.25, "0.9")):
        run("sox", "-n", "-r", "16000", "-b", "16", "-c", "1", str(path), "synth", length,
            "sine", str(freq), "sine", str(freq * 2), "remix", "-", "fade", "q", "0.01", length,
            length, "vol", "0.6")
    run("sox", str(ding), str(dong), str(wav))
    run("oggenc", "-Q", "-q", "0", "-o", str(target), str(wav))


def main() -> int:
    for tool in ("espeak-ng", "sox", "oggenc"):
        if shutil.which(tool) is None:
            print(f"missing {tool}: apt-get install espeak-ng sox libsox-fmt-all vorbis-tools")
            return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name in sorted(CLIP_VOCABULARY):
            wav = tmp / f"{name}.wav"
            run("espeak-ng", "-v", VOICE, "-s", SPEED, "-w", str(wav), spoken(name))
            encode(wav, OUT / f"{name}.ogg")
        make_chime(tmp, OUT / "chime.ogg")
    total = sum(p.stat().st_size for p in OUT.glob("*.ogg"))
    print(f"{len(list(OUT.glob('*.ogg')))} clips, {total / 1024:.0f} KiB in {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
