"""Loading audio from disk (host side): any format soundfile or librosa reads, resampled, mono.

Every failure surfaces as one `AudioError` naming the file and the reason, so callers
(data builders, transcription of a folder) can report and skip a bad file.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from pianojax.errors import UserError

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aiff", ".aif", ".m4a")


class AudioError(UserError):
  """An audio file could not be used; the message names the path and the reason."""

  def __init__(self, path: str, reason: str):
    super().__init__(f"{path}: {reason}")
    self.path = path
    self.reason = reason


def load_audio(path: str | os.PathLike, sample_rate: int, *, mono: bool = True) -> np.ndarray:
  """Reads an audio file as float32 in [-1, 1] at `sample_rate`.

  Args:
    path: an audio file (wav, flac, mp3, ogg, ... anything libsndfile or audioread reads).
    sample_rate: the rate to resample to.
    mono: average the channels (otherwise returns `(channels, samples)`).

  Returns:
    `(samples,)` (mono) or `(channels, samples)` float32 audio.

  Raises:
    AudioError: missing, empty, unreadable, non-audio or zero-length input.
  """
  path = os.fspath(path)
  if not os.path.exists(path):
    raise AudioError(path, "no such file")
  if os.path.isdir(path):
    raise AudioError(path, "is a directory, not an audio file")
  if os.path.getsize(path) == 0:
    raise AudioError(path, "file is empty (0 bytes)")
  if mono:
    streamed = _read_mono_streaming(path, sample_rate)
    if streamed is not None:
      if streamed.size == 0:
        raise AudioError(path, "audio has zero length")
      if not np.all(np.isfinite(streamed)):
        raise AudioError(path, "audio contains NaN or infinite samples")
      return streamed
  audio, native_rate = _read(path)
  if audio.size == 0 or audio.shape[-1] == 0:
    raise AudioError(path, "audio has zero length")
  if not np.all(np.isfinite(audio)):
    raise AudioError(path, "audio contains NaN or infinite samples")
  if mono and audio.ndim == 2:
    audio = audio.mean(axis=0)
  if native_rate != sample_rate:
    import librosa

    audio = librosa.resample(audio, orig_sr=native_rate, target_sr=sample_rate, res_type="soxr_hq")
  return np.ascontiguousarray(audio, dtype=np.float32)


def _read_mono_streaming(path: str, sample_rate: int, block_seconds: float = 30.0) -> np.ndarray | None:
  """Mono audio at `sample_rate`, decoded and resampled block by block (None if soundfile can't open it).

  Peak memory is the output plus one block, so an hour of 44.1 kHz stereo does not need
  the 1.3 GB its float32 decode would take at once.
  """
  import soundfile
  import soxr

  try:
    f = soundfile.SoundFile(path)
  except Exception:  # noqa: BLE001  (not for libsndfile: let the general path decide)
    return None
  with f:
    if f.frames == 0:
      return np.zeros(0, np.float32)
    resampler = (
      None if f.samplerate == sample_rate else soxr.ResampleStream(f.samplerate, sample_rate, 1, "float32", "HQ")
    )
    out = np.empty(int(f.frames * sample_rate / f.samplerate) + 64, np.float32)
    filled = 0
    block = max(1, int(block_seconds * f.samplerate))
    try:
      while True:
        data = f.read(block, dtype="float32", always_2d=True)
        last = len(data) < block
        chunk = data.mean(axis=1)
        if resampler is not None:
          chunk = resampler.resample_chunk(chunk, last=last)
        if filled + len(chunk) > len(out):
          out = np.resize(out, filled + len(chunk))
        out[filled : filled + len(chunk)] = chunk
        filled += len(chunk)
        if last:
          break
    except Exception as e:  # noqa: BLE001  (a file that opens but fails mid-way is corrupt)
      raise AudioError(path, f"corrupt audio ({str(e).strip()[:100]})") from None
  return out[:filled]


def _read(path: str) -> tuple[np.ndarray, int]:
  """Decodes with soundfile, falling back to librosa/audioread for formats libsndfile lacks."""
  import soundfile

  try:
    data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    return data.T, int(rate)
  except Exception as sf_error:  # noqa: BLE001  (any decoder failure means: try the next decoder)
    first_reason = str(sf_error).strip().splitlines()[-1] if str(sf_error).strip() else type(sf_error).__name__
  try:
    import librosa

    with warnings.catch_warnings():
      warnings.simplefilter("ignore")
      data, rate = librosa.load(path, sr=None, mono=False, dtype=np.float32)
  except Exception:  # noqa: BLE001
    raise AudioError(path, f"not a readable audio file ({first_reason})") from None
  data = np.atleast_2d(data)
  return data, int(rate)


def missing_fraction(path: str | os.PathLike) -> float:
  """For a WAV file cut short (its data ends before its header says), the fraction of the audio that is missing;
  0.0 for a whole WAV file or any other format. libsndfile reads such a file without a word."""
  path = os.fspath(path)
  if not path.lower().endswith(".wav"):
    return 0.0
  size = os.path.getsize(path)
  with open(path, "rb") as f:
    header = f.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
      return 0.0
    while chunk := f.read(8):
      if len(chunk) < 8:
        return 0.0
      declared = int.from_bytes(chunk[4:8], "little")
      if chunk[:4] == b"data":
        present = size - f.tell()
        return max(0.0, 1.0 - present / declared) if declared and declared != 0xFFFFFFFF else 0.0
      f.seek(declared + (declared & 1), os.SEEK_CUR)
  return 0.0


def is_silent(audio: np.ndarray, threshold_db: float = -60.0) -> bool:
  """True when the peak is below `threshold_db` dBFS (nothing to transcribe)."""
  peak = max(float(audio.max()), -float(audio.min())) if audio.size else 0.0  # (no |audio| copy)
  return peak <= 10 ** (threshold_db / 20)


def find_audio_files(root: str | os.PathLike) -> list[str]:
  """All audio files under `root` (recursively), sorted; `root` itself if it is a file."""
  root = os.fspath(root)
  if os.path.isfile(root):
    return [root]
  found = []
  for folder, _, names in os.walk(root):
    found.extend(os.path.join(folder, n) for n in names if n.lower().endswith(AUDIO_EXTENSIONS))
  return sorted(found)


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> None:
  """Writes float audio as 16-bit PCM WAV."""
  import soundfile

  soundfile.write(os.fspath(path), np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16")


class ReadAhead:
  """(path, read(path)) for each path, in order, the next `ahead` files read in a background thread while the
  caller works on this one. Reading starts at once (before the first item is asked for); `close()` (or the end of
  the iteration) stops it. A file whose `read` raises AudioError yields the error in place of its audio."""

  def __init__(self, paths, read, ahead: int = 1):
    import concurrent.futures

    self._paths, self._read, self._ahead = list(paths), read, ahead
    self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="read")
    self._pending = [self._pool.submit(self._safe, p) for p in self._paths[: ahead + 1]]

  def _safe(self, path):
    try:
      return self._read(path)
    except AudioError as e:
      return e

  def __iter__(self):
    try:
      for i, path in enumerate(self._paths):
        result = self._pending[i].result()
        self._pending[i] = None  # the audio is the caller's now
        if i + self._ahead + 1 < len(self._paths):
          self._pending.append(self._pool.submit(self._safe, self._paths[i + self._ahead + 1]))
        yield path, result
    finally:
      self.close()

  def close(self) -> None:
    self._pool.shutdown(wait=False, cancel_futures=True)
