"""Audio loading: formats, rates, channels, and one clear error for bad input."""

import numpy as np
import pytest
import soundfile

from pianojax import audio_io


def tone(sr, seconds=0.5, channels=1):
  t = np.arange(int(sr * seconds)) / sr
  x = 0.5 * np.sin(2 * np.pi * 440 * t)
  return np.stack([x] * channels, axis=1) if channels > 1 else x


@pytest.mark.parametrize("sr", [16000, 22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("ext", ["wav", "flac", "ogg"])
def test_loads_any_rate_channels_and_format(tmp_path, sr, channels, ext):
  path = tmp_path / f"a.{ext}"
  soundfile.write(path, tone(sr, channels=channels), sr)
  audio = audio_io.load_audio(path, 16000)
  assert audio.dtype == np.float32 and audio.ndim == 1
  assert abs(len(audio) - 8000) <= 2
  spectrum = np.abs(np.fft.rfft(audio))
  assert abs(np.argmax(spectrum) * 16000 / len(audio) - 440) < 4


def test_loads_mp3_via_fallback(tmp_path):
  path = tmp_path / "a.mp3"
  soundfile.write(path, tone(44100), 44100, format="MP3")
  audio = audio_io.load_audio(path, 16000)
  assert abs(len(audio) - 8000) < 2000 and np.abs(audio).max() > 0.1


@pytest.mark.parametrize(
  "make,reason",
  [
    (lambda p: None, "no such file"),
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 10), "not a readable audio file"),
    (lambda p: p.write_text("this is a text file, not audio\n" * 50), "not a readable audio file"),
    (lambda p: soundfile.write(p, np.zeros((0,)), 16000), "zero length"),
  ],
)
def test_bad_input_raises_one_clear_error(tmp_path, make, reason):
  path = tmp_path / "bad.wav"
  make(path)
  with pytest.raises(audio_io.AudioError, match=reason) as info:
    audio_io.load_audio(path, 16000)
  assert str(path) in str(info.value)


def test_directory_is_rejected(tmp_path):
  with pytest.raises(audio_io.AudioError, match="directory"):
    audio_io.load_audio(tmp_path, 16000)


def test_silence_detection():
  assert audio_io.is_silent(np.zeros(100))
  assert not audio_io.is_silent(np.full(100, 0.1))


def test_find_audio_files(tmp_path):
  (tmp_path / "sub").mkdir()
  for name in ["b.wav", "sub/a.flac", "notes.txt", "sub/c.MP3"]:
    (tmp_path / name).write_bytes(b"x")
  found = audio_io.find_audio_files(tmp_path)
  assert [p.split(str(tmp_path))[1] for p in found] == ["/b.wav", "/sub/a.flac", "/sub/c.MP3"]
