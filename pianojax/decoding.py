"""From frame outputs (probabilities, `(frames, 88)`) to notes (NumPy, host side).

- classification: a note starts where the onset probability crosses the threshold (the
  first frame of each run above it) and lasts while the frame probability stays above its
  threshold (or until an offset fires or the same key is struck again).
- regression: onsets are local maxima of the onset triangle above the threshold, one per
  `min_repeat_ms` (the higher wins); the exact time comes from the triangle through the
  peak and its neighbours (sub-frame); offsets likewise from the offset triangle (its
  first peak at least `min_note_ms` after the onset), else from the frame roll.
- hybrid: onsets (and pedal presses) as regression, offsets (and releases) as classification. Each head is read
  as its name says (`heads.is_triangle`).
A classification end event (offset, key release) is a run of frames at or above the offset threshold; `end_events`
says where in the run the end falls: "rise", its first frame (what decoding did before session 20), or "peak", its
highest frame. The targets mark the one frame nearest the end, so the probabilities rise a frame or two before it
and peak on it: read at the rise, key releases came out 10-40 ms early on every validation and held-out folder.
Notes shorter than `min_note_ms` are dropped. With `end_confirm_threshold`, an end event counts only where the
note's frame probability (the key-frame probability, for a key release) falls below it within `CONFIRM_MS`: the
event heads also fire inside notes that go on sounding (a long note's decay), and the frame heads say which events
ended something.

A model with key-release and pedal heads (`model.pedal`) also gives, for the same notes, where each key was let go
(the first frame after the onset where the key-release frame probability falls below `release_threshold`, or an
earlier release event; never after the note stops sounding), and the sustain pedal: down while the pedal frame
probability is at least `pedal_threshold`, each edge moved to the pedal onset / offset event beside it (sub-frame
for regression). `decode_all` returns both forms (`Transcription`): key releases with the pedal as CC64 events
(plays back like the performance), and the sounding notes, extended through the decoded pedal where the key was let
go under it (what the pedal-extended evaluation protocol compares). `sounding_ends` says whether the frame heads may
hold a sounding note past that ("frames") or not ("keys": the key-release heads and the pedal alone end it).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from pianojax import heads
from pianojax.errors import UserError
from pianojax.notes import MIN_PITCH, NoteSequence

CONFIRM_MS = 100.0  # how soon after an end event the frame probability must fall (`end_confirm_threshold`)
END_EVENTS = ("rise", "peak")  # where a classification end event falls in its run of frames (`end_events`)
SOUNDING_ENDS = ("frames", "keys")  # what ends a sounding note (`sounding_ends`, model.pedal)


@dataclasses.dataclass(frozen=True)
class DecodeSettings:
  """How frame outputs become notes: the `decode` config section, flags, export and tune all speak this."""

  onset_threshold: float
  frame_threshold: float
  offset_threshold: float
  min_note_ms: float  # shortest note kept
  min_repeat_ms: float  # two onset peaks of one key closer than this are one attack (regression)
  release_threshold: float = 0.5  # key-release frame probability below which a key is up (model.pedal)
  pedal_threshold: float = 0.5  # sustain-pedal frame probability above which the pedal is down (model.pedal)
  # An offset (key-release) event ends a note only where the note's frame (key-frame) probability falls below this
  # within CONFIRM_MS of it; 0: every event ends the note it falls in (what decoding did before session 18).
  end_confirm_threshold: float = 0.0
  # Where a classification end event falls in its run of frames above the offset threshold: "rise" (the first
  # frame) or "peak" (the highest); see the module doc. Triangle (regression) ends are read at their peaks either way.
  end_events: str = "rise"
  # Where a sounding (pedal-extended) note ends, for a model with key-release and pedal heads: "frames", the later
  # of the frame heads' end and the key release carried to the decoded pedal's lift; "keys", the key release carried
  # to the pedal's lift alone (the frame heads then only say how long a note may last).
  sounding_ends: str = "frames"

  def __post_init__(self):
    for field in dataclasses.fields(self):
      self.check(field.name, getattr(self, field.name))

  @staticmethod
  def check(name: str, value) -> None:
    """Raises a UserError naming `--name` unless `value` is in its range."""
    if name in _STRINGS:
      if value not in _STRINGS[name]:
        raise UserError(f"--{name}={value}: choose from {', '.join(_STRINGS[name])}")
      return
    unit = name.endswith("_threshold")
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0 or (unit and value > 1):
      allowed = "a probability in [0, 1]" if unit else "a number of milliseconds >= 0"
      raise UserError(f"--{name}={value}: must be {allowed}")

  @classmethod
  def from_config(cls, section) -> DecodeSettings:
    return cls(**{f.name: _typed(f.name, section[f.name]) for f in dataclasses.fields(cls)})

  def replace(self, **overrides) -> DecodeSettings:
    """A copy with the overrides that are not None."""
    return dataclasses.replace(self, **{k: _typed(k, v) for k, v in overrides.items() if v is not None})

  def as_dict(self) -> dict[str, float | str]:
    return dataclasses.asdict(self)


_STRINGS = {"end_events": END_EVENTS, "sounding_ends": SOUNDING_ENDS}  # the settings that are a choice by name


def _typed(name: str, value):
  """A decoding setting's value as its field holds it: a string for `_STRINGS`, else a float."""
  return str(value) if name in _STRINGS else float(value)


def _runs_start(x: np.ndarray) -> np.ndarray:
  """Indices where a boolean vector turns on."""
  x = x.astype(np.int8)
  return np.nonzero(np.diff(np.concatenate([[0], x])) == 1)[0]


def _peaks(y: np.ndarray, threshold: float, min_gap: float = 0.0) -> np.ndarray:
  """Local maxima of y above threshold (a plateau counts once, at its first frame).

  Peaks closer than `min_gap` frames to a higher one are dropped (one attack, two bumps):
  validation data preferred keeping the higher to keeping the earlier.
  """
  left = np.concatenate([[-np.inf], y[:-1]])
  right = np.concatenate([y[1:], [-np.inf]])
  peaks = np.nonzero((y >= threshold) & (y > left) & (y >= right))[0]
  if min_gap <= 0 or len(peaks) < 2:
    return peaks
  reach = int(np.ceil(min_gap))
  kept = np.zeros(len(y), bool)
  for i in peaks[np.argsort(-y[peaks], kind="stable")]:
    near = np.nonzero(kept[max(0, i - reach) : i + reach + 1])[0] + max(0, i - reach)
    if not np.any(np.abs(near - i) < min_gap):
      kept[i] = True
  return np.nonzero(kept)[0]


def _subframe(y: np.ndarray, i: int) -> float:
  """Offset in frames of a triangle's apex from sample i, given its neighbours."""
  a = y[i - 1] if i > 0 else y[i]
  b = y[i]
  c = y[i + 1] if i + 1 < len(y) else y[i]
  if c >= a:
    denom = 2 * (b - a)
    return float(min(max((c - a) / denom, 0.0), 0.5)) if denom > 1e-9 else 0.0  # (min/max: np.clip is slow
  denom = 2 * (b - c)
  return float(min(max((c - a) / denom, -0.5), 0.0)) if denom > 1e-9 else 0.0


@dataclasses.dataclass(frozen=True)
class Transcription:
  """One decoding in both forms. `released`: key-release offsets and the sustain pedal as CC64 events;
  `sounding`: offsets where the string stops sounding (pedal-extended), no pedal events. A model without pedal
  heads gives its sounding notes for both."""

  released: NoteSequence
  sounding: NoteSequence

  def notes(self, pedal: str) -> NoteSequence:
    """ "cc64": `released` (notes + CC64); "extend": `sounding` (no controllers)."""
    if pedal not in PEDAL_OUTPUTS:
      raise UserError(f"--pedal={pedal}: choose from {', '.join(PEDAL_OUTPUTS)}")
    return self.released if pedal == "cc64" else self.sounding


PEDAL_OUTPUTS = ("cc64", "extend")


def decode(probs: dict[str, np.ndarray], frame_rate: float, objective: str, settings: DecodeSettings) -> NoteSequence:
  """The sounding notes (pedal-extended offsets) of `decode_all`."""
  return decode_all(probs, frame_rate, objective, settings).sounding


def decode_all(
  probs: dict[str, np.ndarray], frame_rate: float, objective: str, settings: DecodeSettings
) -> Transcription:
  """Notes (and the sustain pedal) from per-frame probabilities.

  Args:
    probs: the objective's event heads (`heads.of`: "onset"/"offset" for classification, "onset_reg"/"offset_reg"
      for regression, "onset_reg"/"offset" for hybrid), plus "frame" and "velocity", each `(frames, 88)` in
      [0, 1]; with the pedal heads also "key_frame", "key_offset[_reg]" `(frames, 88)` and "pedal_frame",
      "pedal_onset[_reg]", "pedal_offset[_reg]" `(frames, 1)`.
    frame_rate: frames per second.
    objective: which heads to read ("classification", "regression" or "hybrid").
    settings: thresholds and durations.

  Returns:
    Both forms of the notes, times in seconds.
  """
  names = heads.of(objective)
  pitch, on_t, off_t, release_t, vel = _notes(probs, frame_rate, names, settings)
  sounding = NoteSequence(pitch, on_t, off_t, vel)
  if "pedal_frame" not in probs:
    return Transcription(sounding, sounding)
  pedal_time, pedal_value = _pedal(
    probs["pedal_frame"][:, 0],
    _Event(probs[names.pedal_onset][:, 0], heads.is_triangle(names.pedal_onset)),
    _Event(probs[names.pedal_offset][:, 0], heads.is_triangle(names.pedal_offset)),
    settings.pedal_threshold,
  )
  released = NoteSequence(pitch, on_t, release_t, vel, pedal_time / frame_rate, pedal_value)
  # A key let go under the pedal sounds until the pedal comes up (or the key is struck again).
  # (`sounding` and `released` hold the same notes in the same order: NoteSequence sorts by onset, then pitch.)
  ends = released.pedal_offsets()
  if settings.sounding_ends == "frames":
    ends = np.maximum(sounding.offset, ends)
  return Transcription(released, NoteSequence(sounding.pitch, sounding.onset, ends, sounding.velocity))


def _notes(probs, frame_rate: float, names: heads.EventHeads, settings: DecodeSettings):
  """(pitch, onset, sounding end, key release, velocity) lists; key release = sounding end without release heads."""
  frame = probs["frame"]
  n_frames = frame.shape[0]
  onsets, regression = probs[names.onset], heads.is_triangle(names.onset)
  offsets, offset_triangles = probs[names.offset], heads.is_triangle(names.offset)
  velocity = probs["velocity"]
  key_frame = probs.get("key_frame")
  releases, release_triangles = probs.get(names.key_offset), heads.is_triangle(names.key_offset)
  min_frames = settings.min_note_ms * frame_rate / 1000.0
  min_gap = settings.min_repeat_ms * frame_rate / 1000.0
  confirm = _Confirm(settings.end_confirm_threshold, max(1, round(CONFIRM_MS * frame_rate / 1000.0)))
  at = settings.end_events
  pitch, on_t, off_t, release_t, vel = [], [], [], [], []
  for k in range(frame.shape[1]):
    # One key at a time in float32 (outputs may arrive as float16: an hour's worth of all of them in float32
    # would double the memory transcription needs).
    onset = np.asarray(onsets[:, k], np.float32)
    if regression:
      starts = _peaks(onset, settings.onset_threshold, min_gap)
    else:
      starts = _runs_start(onset >= settings.onset_threshold)
    if not len(starts):
      continue
    frame_k = np.asarray(frame[:, k], np.float32)
    held = frame_k >= settings.frame_threshold
    offset = np.asarray(offsets[:, k], np.float32)
    off_peaks = confirm.kept(_events(offset, settings.offset_threshold, offset_triangles, at), frame_k)
    if key_frame is not None:
      key_k = np.asarray(key_frame[:, k], np.float32)
      down = key_k >= settings.release_threshold
      release = np.asarray(releases[:, k], np.float32)
      release_peaks = confirm.kept(_events(release, settings.offset_threshold, release_triangles, at), key_k)
    for j, s in enumerate(starts):
      limit = starts[j + 1] if j + 1 < len(starts) else n_frames
      # (a regression peak at frame 0 may point before it: clipped to the segment's start)
      start_time = max(0.0, s + (_subframe(onset, s) if regression else 0.0))
      stop = _end(held, s, limit, offset, off_peaks, start_time, min_frames, offset_triangles)
      if stop - start_time < min_frames:
        continue
      let_go = stop
      if key_frame is not None:
        let_go = min(stop, _end(down, s, limit, release, release_peaks, start_time, min_frames, release_triangles))
        let_go = max(let_go, start_time + min_frames)
      pitch.append(k + MIN_PITCH)
      on_t.append(start_time / frame_rate)
      off_t.append(stop / frame_rate)
      release_t.append(let_go / frame_rate)
      vel.append(min(max(round(float(np.float32(velocity[s, k])) * 127), 1), 127))
  return pitch, on_t, off_t, release_t, vel


@dataclasses.dataclass(frozen=True)
class _Confirm:
  """Which end events the frame probabilities confirm: the probability falls below `threshold` within `frames`
  frames from the event's frame (0: all of them)."""

  threshold: float
  frames: int

  def kept(self, events: np.ndarray, frame: np.ndarray) -> np.ndarray:
    if self.threshold <= 0 or not len(events):
      return events
    below = np.concatenate([frame < self.threshold, [True]])  # (past the end, the note has stopped)
    # the first frame at or after each frame where the probability is below the threshold
    first_below = np.minimum.accumulate(np.where(below, np.arange(len(below)), len(below))[::-1])[::-1]
    return events[first_below[events] < events + self.frames]


def _events(y: np.ndarray, threshold: float, regression: bool, at: str = "rise") -> np.ndarray:
  """Frames of offset-like events: triangle peaks (regression); for classification every frame at or above the
  threshold (`at="rise"`: a note ends at the first of them past its shortest length) or each run's highest frame
  (`at="peak"`)."""
  return _peaks(y, threshold) if regression or at == "peak" else np.nonzero(y >= threshold)[0]


def _end(held, s, limit, events_y, event_frames, start_time, min_frames, regression) -> float:  # noqa: PLR0917
  """Where a note that starts at frame `s` ends (in frames): while `held` holds (allowing the onset frame itself),
  unless an event comes first."""
  e = s + 1
  while e < limit and held[e]:
    e += 1
  # The first event no sooner than the shortest note: an offset head that also fires at the note's own
  # attack (it does on fast repeated figures) must not delete the note.
  for o in event_frames[(event_frames > s) & (event_frames <= e)]:
    t = o + (_subframe(events_y, o) if regression else 0.0)
    if t - start_time >= min_frames:
      return float(t)
  return float(e)


@dataclasses.dataclass(frozen=True)
class _Event:
  """One pedal event head's probabilities `(frames,)` and whether they are triangles (read at peaks, sub-frame)."""

  y: np.ndarray
  triangle: bool

  def starts(self, lo: int, hi: int) -> np.ndarray:
    """Frames in [lo, hi) where the head fires."""
    return _event_starts(self.y[lo:hi], self.triangle) + lo

  def time(self, i: int) -> float:
    """Frame `i` as a time in frames (sub-frame for triangles)."""
    return i + (_subframe(self.y, i) if self.triangle else 0.0)


def _pedal(frame, onset: _Event, offset: _Event, threshold: float) -> tuple[np.ndarray, np.ndarray]:
  """CC64 events (times in frames, values 127 / 0) of the sustain pedal from its three heads."""
  down = np.asarray(frame, np.float32) >= threshold
  onset = _Event(np.asarray(onset.y, np.float32), onset.triangle)
  offset = _Event(np.asarray(offset.y, np.float32), offset.triangle)
  edges = np.diff(np.concatenate([[0], down.astype(np.int8), [0]]))
  starts, stops = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
  times, values = [], []
  for a, b in zip(starts, stops, strict=True):
    if b - a < 2:  # a one-frame flicker is not a pedal press
      continue
    for lo, hi in _pedal_changes(a, b, onset, offset):
      times += [lo, hi]
      values += [127, 0]
  times = np.maximum(np.asarray(times, np.float64), 0.0)  # (a triangle's apex at frame 0 may point before it)
  if len(times):  # (snapping must not reorder presses)
    times = np.maximum.accumulate(times)
  return times, np.asarray(values, np.int32)


def _pedal_changes(a: int, b: int, onset: _Event, offset: _Event, *, reach: int = 25) -> list[tuple[float, float]]:
  """The presses (times in frames) of one run `[a, b)` of pedal-down frames: split where the pedal-offset head
  fires inside the run and the pedal-onset head fires within `reach` frames after it (a legato pedal change lifts
  the pedal for 100-200 ms, which the frame head smooths over; Kong et al. read pedal changes off the event heads
  the same way). The run's own edges are moved to the event beside them (`_snap`)."""
  presses, lo, last_down = [], _snap(onset, a), a
  for up in offset.starts(a + 2, b - 1):
    if up <= last_down:
      continue
    downs = onset.starts(up + 1, min(b, up + 1 + reach))
    if not len(downs):
      continue
    hi = offset.time(up)
    if hi - lo < 2:
      continue
    last_down = int(downs[0])
    presses.append((lo, hi))
    lo = onset.time(last_down)
  presses.append((lo, _snap(offset, b)))
  return presses


def _event_starts(y: np.ndarray, regression: bool, threshold: float = 0.5) -> np.ndarray:
  """Frames where an event head fires: triangle peaks (regression) or the first frame of each run above it."""
  return _peaks(y, threshold) if regression else _runs_start(y >= threshold)


def _snap(event: _Event, i: int, reach: int = 3) -> float:
  """The pedal edge at frame `i` moved to the strongest event within `reach` frames (sub-frame for triangles)."""
  y = event.y
  lo, hi = max(0, i - reach), min(len(y), i + reach + 1)
  if lo >= hi:
    return float(i)
  j = lo + int(np.argmax(y[lo:hi]))
  if y[j] < 0.5:
    return float(i)
  return event.time(j)
