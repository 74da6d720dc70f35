"""The TFDS feature spec shared by our datasets: int16 audio as bytes, notes and pedal as arrays.

Everything is a `tfds.features.Tensor` (no `Audio`, no `Text`), so `tfds.data_source`
decodes examples with NumPy alone: training hosts need no TensorFlow.
"""

from __future__ import annotations

import numpy as np

from pianojax.notes import NoteSequence


def feature_spec():
  import tensorflow_datasets as tfds

  def vec(dtype):
    return tfds.features.Tensor(shape=(None,), dtype=dtype)

  return tfds.features.FeaturesDict(
    {
      "audio": tfds.features.Tensor(shape=(None,), dtype=np.int16, encoding=tfds.features.Encoding.BYTES),
      "notes": {
        "pitch": vec(np.int32),
        "onset": vec(np.float32),
        "offset": vec(np.float32),  # key release
        "offset_pedal": vec(np.float32),  # extended while the sustain pedal is down
        "velocity": vec(np.int32),
      },
      "pedal": {"time": vec(np.float32), "value": vec(np.int32)},
      "soundfont": tfds.features.Tensor(shape=(), dtype=np.str_),
      "program": tfds.features.Tensor(shape=(), dtype=np.int32),
      "kind": tfds.features.Tensor(shape=(), dtype=np.str_),
      "id": tfds.features.Tensor(shape=(), dtype=np.str_),
    }
  )


def encode(audio: np.ndarray, notes: NoteSequence, *, soundfont: str, program: int, kind: str, id: str) -> dict:  # noqa: A002
  d = notes.to_dict()
  return {
    "audio": np.asarray(audio, np.int16),
    "notes": {k: d[k] for k in ("pitch", "onset", "offset", "offset_pedal", "velocity")},
    "pedal": {"time": d["pedal_time"], "value": d["pedal_value"]},
    "soundfont": soundfont,
    "program": np.int32(program),
    "kind": kind,
    "id": id,
  }


def decode_notes(example: dict) -> NoteSequence:
  """The labels of a stored example as a NoteSequence (offsets = key release, pedal kept)."""
  n, p = example["notes"], example["pedal"]
  return NoteSequence(n["pitch"], n["onset"], n["offset"], n["velocity"], p["time"], p["value"])


def as_str(value) -> str:
  return value.decode() if isinstance(value, bytes) else str(value)
