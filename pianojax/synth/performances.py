"""Real performances as one packed table of note events, and random windows of it cut on the device.

`pack` reads a MIDI folder's files of one split (the split `datasets.synthetic.split_of` gives each file, so the
held-out performances stay held out) once on the host, into flat arrays: every note's pitch, onset, key release,
pedal-extended offset (computed on the whole piece, as the rendered datasets do) and velocity, and every
sustain-pedal interval, pieces one after another. `window` picks a piece (in proportion to its length) and a start
time from a key and returns the events of `seconds` of it, plus the notes struck up to `lookback` seconds before
(their sound reaches into the window), without leaving the device.
"""

from __future__ import annotations

import logging
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pianojax.errors import UserError
from pianojax.synth.events import Events

TICKS_PER_SECOND = 100  # search keys: piece * 2**KEY_BITS + time in ticks
KEY_BITS = 20  # up to 2.9 hours per piece, 2,048 pieces


class Table(NamedTuple):
  """Packed performances (host NumPy or device arrays)."""

  pitch: np.ndarray  # int32 (notes,)
  onset: np.ndarray  # float32 seconds from the piece's start
  offset: np.ndarray  # key release
  sounding: np.ndarray  # pedal-extended offset
  velocity: np.ndarray  # float32
  note_key: np.ndarray  # int32 search key of each onset
  piece_seconds: np.ndarray  # float32 (pieces,)
  pedal_down: np.ndarray  # float32 (intervals,)
  pedal_up: np.ndarray  # float32, +inf: never lifted
  pedal_key: np.ndarray  # int32 search key of each interval's end


def _key(piece, seconds):
  return piece * 2**KEY_BITS + np.clip(np.floor(np.asarray(seconds) * TICKS_PER_SECOND), 0, 2**KEY_BITS - 1).astype(
    np.int64
  )


def midi_files(root: str, split: str) -> list[str]:
  from pianojax.datasets.synthetic import split_of

  if not os.path.isdir(root):
    raise UserError(f"MIDI folder {root} not found (data.synth.midi_dir)")
  found = [os.path.join(d, n) for d, _, names in os.walk(root) for n in names if n.lower().endswith((".mid", ".midi"))]
  return sorted(p for p in found if split_of(p) == split)


def pack(root: str, split: str = "train") -> Table:
  """Reads the MIDI files of `split` under `root` (unreadable or empty ones are skipped with a warning)."""
  from pianojax import notes as notes_lib

  files = midi_files(root, split)
  cols = {k: [] for k in Table._fields if k != "piece_seconds"}
  seconds = []
  for path in files:
    try:
      seq = notes_lib.read_midi(path)
    except notes_lib.MidiError as e:
      logging.warning("skipping %s", e)
      continue
    if len(seq) == 0 or seq.end_time > 2**KEY_BITS / TICKS_PER_SECOND:
      logging.warning("skipping %s: no piano notes, or too long", path)
      continue
    piece = len(seconds)
    seconds.append(seq.end_time)
    intervals = seq.pedal_intervals()
    cols["pitch"].append(seq.pitch)
    cols["onset"].append(seq.onset)
    cols["offset"].append(seq.offset)
    cols["sounding"].append(seq.pedal_offsets())
    cols["velocity"].append(seq.velocity)
    cols["note_key"].append(_key(piece, seq.onset))
    cols["pedal_down"].append(intervals[:, 0])
    cols["pedal_up"].append(intervals[:, 1])
    cols["pedal_key"].append(_key(piece, np.minimum(intervals[:, 1], 2**KEY_BITS / TICKS_PER_SECOND)))
  if not seconds:
    raise UserError(f"no readable MIDI file of the {split} split in {root}")
  ints = ("pitch", "note_key", "pedal_key")
  return Table(
    **{k: np.concatenate(v).astype(np.int32 if k in ints else np.float32) for k, v in cols.items()},
    piece_seconds=np.asarray(seconds, np.float32),
  )


def save(table: Table, path: str) -> None:
  """Compactly: times in whole milliseconds, onsets as differences (what the MIDI files resolve anyway)."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  ms = lambda t: np.round(np.minimum(t, 2**30 / 1000) * 1000).astype(np.int64)  # noqa: E731  (inf -> 2**30 ms)
  piece = table.note_key >> KEY_BITS
  onset = ms(table.onset)
  arrays = {
    "pitch": table.pitch.astype(np.int8),
    "velocity": table.velocity.astype(np.uint8),
    "piece_delta": np.diff(piece, prepend=0).astype(np.uint8),
    "onset_delta": np.diff(onset, prepend=0).astype(np.int32),
    "hold": (ms(table.offset) - onset).astype(np.int32),
    "ring": (ms(table.sounding) - ms(table.offset)).astype(np.int32),
    "piece_seconds": table.piece_seconds,
    "pedal_piece": (table.pedal_key >> KEY_BITS).astype(np.int16),
    "pedal_down": ms(table.pedal_down).astype(np.int32),
    "pedal_up": ms(table.pedal_up).astype(np.int32),
  }
  tmp = f"{path}.tmp.npz"
  np.savez_compressed(tmp, **arrays)
  os.replace(tmp, path)


def load(path: str) -> Table:
  try:
    with np.load(path) as z:
      a = {k: z[k].astype(np.int64) if z[k].dtype.kind in "iu" else z[k] for k in z.files}
  except (OSError, KeyError, ValueError) as e:
    raise UserError(f"packed performances {path} are unreadable ({e}): rebuild with --mode=build_data") from None
  piece, onset = np.cumsum(a["piece_delta"]), np.cumsum(a["onset_delta"])
  seconds = lambda ms: (ms / 1000.0).astype(np.float32)  # noqa: E731
  up = np.where(a["pedal_up"] >= 2**30, np.inf, a["pedal_up"] / 1000.0)
  return Table(
    pitch=a["pitch"].astype(np.int32),
    onset=seconds(onset),
    offset=seconds(onset + a["hold"]),
    sounding=seconds(onset + a["hold"] + a["ring"]),
    velocity=a["velocity"].astype(np.float32),
    note_key=_key(piece, onset / 1000.0).astype(np.int32),
    piece_seconds=a["piece_seconds"],
    pedal_down=seconds(a["pedal_down"]),
    pedal_up=up.astype(np.float32),
    pedal_key=_key(a["pedal_piece"], np.minimum(up, 2**KEY_BITS / TICKS_PER_SECOND)).astype(np.int32),
  )


class Window(NamedTuple):
  events: Events  # times from the window's start; notes struck in the `lookback` seconds before it included
  sounding: jax.Array  # their pedal-extended offsets
  complete_until: jax.Array  # no note is missing before this (the window's length unless more notes fell in it)
  piece: jax.Array  # which performance (in packing order)
  start: jax.Array  # where in it the window starts, seconds


def window(table: Table, key, seconds: float, lookback: float, *, num_notes: int, num_intervals: int = 16) -> Window:
  """A random `seconds`-long window of a random performance (pieces drawn in proportion to their length)."""
  kp, kt = jax.random.split(key)
  lengths = table.piece_seconds
  piece = jax.random.choice(kp, lengths.shape[0], p=lengths / lengths.sum())
  start = jax.random.uniform(kt, (), minval=0.0, maxval=jnp.maximum(lengths[piece] - seconds, 0.0))
  ticks = lambda t: jnp.clip(jnp.floor(t * TICKS_PER_SECOND), 0, 2**KEY_BITS - 1).astype(jnp.int32)  # noqa: E731
  base = piece * 2**KEY_BITS
  first = jnp.searchsorted(table.note_key, base + ticks(start - lookback))
  idx = first + jnp.arange(num_notes)
  n_total = table.pitch.shape[0]
  safe = jnp.minimum(idx, n_total - 1)
  same = (idx < n_total) & (table.note_key[safe] >> KEY_BITS == piece)
  onset = table.onset[safe] - start
  inside = same & (onset < seconds)
  beyond = first + num_notes  # the first note that did not fit
  beyond_safe = jnp.minimum(beyond, n_total - 1)
  missed = (beyond < n_total) & (table.note_key[beyond_safe] >> KEY_BITS == piece)
  missed_at = table.onset[beyond_safe] - start
  complete_until = jnp.where(missed & (missed_at < seconds), jnp.maximum(missed_at, 0.0), seconds)

  p_first = jnp.searchsorted(table.pedal_key, base + ticks(start))
  pidx = p_first + jnp.arange(num_intervals)
  m_total = table.pedal_down.shape[0]
  psafe = jnp.minimum(pidx, m_total - 1)
  down = table.pedal_down[psafe] - start
  up = table.pedal_up[psafe] - start
  pvalid = (pidx < m_total) & (table.pedal_key[psafe] >> KEY_BITS == piece) & (down < seconds) & (up > 0)
  events = Events(
    table.pitch[safe],
    onset,
    table.offset[safe] - start,
    table.velocity[safe],
    inside,
    down,
    jnp.where(up >= seconds, jnp.inf, up),  # lifted after the window: as the rendered datasets' labels see it
    pvalid,
  )
  return Window(events, table.sounding[safe] - start, complete_until, piece, start)
