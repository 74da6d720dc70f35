"""Which event heads a transcriber has under each objective (`config.objective`), and how each is read.

- classification: every event (a note's onset and offset, a key's release, the pedal going down and up) is a
  per-frame probability that it happens in that frame; decoding reads runs above a threshold.
- regression: every event is Kong et al.'s triangle around its exact time (heads named `*_reg`); decoding reads
  the triangle's peaks, sub-frame.
- hybrid: the onsets (notes and pedal presses) as triangles, every end (note offsets, key releases, pedal
  releases) as events. (The working sweep, docs/ABLATIONS.md: regression's triangles won onsets by 6.5 points,
  classification's events won onset+offset F1 by 8.3.)

The frame, velocity, key-frame and pedal-frame heads are the same under every objective. Pure names, no JAX: the
model, the losses and the decoder all read them from here.
"""

from __future__ import annotations

import dataclasses

OBJECTIVES = ("classification", "regression", "hybrid")


@dataclasses.dataclass(frozen=True)
class EventHeads:
  """The names of the event heads (each also the name of the target it is trained on)."""

  onset: str
  offset: str
  key_offset: str
  pedal_onset: str
  pedal_offset: str

  @property
  def notes(self) -> tuple[str, ...]:
    """The note heads, onsets first."""
    return (self.onset, self.offset, "frame", "velocity")

  @property
  def release(self) -> tuple[str, str]:
    return (self.key_offset, "key_frame")

  @property
  def pedal(self) -> tuple[str, str, str]:
    return (self.pedal_onset, self.pedal_offset, "pedal_frame")


def of(objective: str) -> EventHeads:
  """The event heads of `objective` (ValueError for an unknown one)."""
  if objective not in OBJECTIVES:
    raise ValueError(f"unknown objective {objective!r} (choose from {', '.join(OBJECTIVES)})")
  starts = "_reg" if objective in ("regression", "hybrid") else ""
  ends = "_reg" if objective == "regression" else ""
  return EventHeads(
    onset="onset" + starts,
    offset="offset" + ends,
    key_offset="key_offset" + ends,
    pedal_onset="pedal_onset" + starts,
    pedal_offset="pedal_offset" + ends,
  )


def is_triangle(name: str) -> bool:
  """Whether head `name` is a regression triangle (read at its peaks) rather than a per-frame event."""
  return name.endswith("_reg")
