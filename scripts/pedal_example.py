"""A heavily pedalled excerpt, transcribed by two models and played back: what the pedal heads change, to see and hear.

Renders SECONDS of a performance MIDI with the held-out piano, transcribes it with each model (each model's default
output: key releases + CC64 for a model with pedal heads, sounding notes otherwise), renders every transcription
back to audio with the same piano, and draws the piano rolls of what sounds (truth, then each model; notes
pedal-extended by the pedal each carries) with the sustain pedal as a band under each. Prints each model's scores
on the excerpt, one JSON line last.

  python scripts/pedal_example.py --midi=../shared/midi/vienna4x22/Chopin_op10_no3_p18.mid --seconds=20 \
    --models=OLD_MODEL,models/default --names=before,after --output=outputs/pedal_example \
    --figure=docs/img/pedal_example.png
"""

import json
import os
import sys

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_MIDI = flags.DEFINE_string("midi", None, "A performance MIDI file (with sustain pedal).", required=True)
_START = flags.DEFINE_float("start", 0.0, "Where the excerpt starts, in seconds.")
_SECONDS = flags.DEFINE_float("seconds", 20.0, "Length of the excerpt.")
_MODELS = flags.DEFINE_list("models", ["models/default"], "Model folders to compare.")
_NAMES = flags.DEFINE_list("names", None, "A name per model (default: the folders).")
_PIANO = flags.DEFINE_string("piano", "musescore", "The piano that plays it (held out from training).")
_OUTPUT = flags.DEFINE_string("output", "outputs/pedal_example", "Where the audio and MIDI files go.")
_FIGURE = flags.DEFINE_string("figure", None, "The figure (default: OUTPUT/pedal_example.png).")


def _draw(rolls: dict, frame_rate: float, path: str) -> None:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(len(rolls), 1, figsize=(14, 2.6 * len(rolls)), sharex=True, squeeze=False)
  first = next(iter(rolls.values()))[0]
  keys = np.nonzero(first.any(axis=0))[0]
  lo, hi = (keys.min(), keys.max() + 1) if len(keys) else (0, 88)  # the truth's range, for every row
  for ax, (title, (roll, pedal)) in zip(axes[:, 0], rolls.items(), strict=True):
    seconds = roll.shape[0] / frame_rate
    ax.imshow(roll[:, lo:hi].T, origin="lower", aspect="auto", cmap="Greys", extent=(0, seconds, lo + 21, hi + 21))
    for down, up in pedal:  # a band below the lowest key
      ax.fill_between([down, min(up, seconds)], lo + 21 - 3, lo + 21 - 1, color="tab:orange", lw=0)
    ax.set(ylabel="MIDI pitch", title=title, ylim=(lo + 21 - 3.5, hi + 21))
  axes[-1, 0].set_xlabel("time (s); orange: sustain pedal down")
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


def _sounding(sequence):
  """The notes as they sound: offsets extended through the sustain pedal they carry."""
  from pianojax import notes

  return notes.NoteSequence(sequence.pitch, sequence.onset, sequence.pedal_offsets(), sequence.velocity)


def main(argv):
  del argv
  from absl import logging

  logging.set_verbosity(logging.WARNING)  # (orbax's INFO lines)
  from pianojax import audio_io, inference, metrics, notes, scoring, testsets
  from pianojax.records import Record
  from pianojax.synth import effects
  from pianojax.synth.render import Renderer

  names = _NAMES.value or _MODELS.value
  if len(names) != len(_MODELS.value):
    sys.exit("error: give one --names entry per --models entry")
  os.makedirs(_OUTPUT.value, exist_ok=True)
  start, end = _START.value, _START.value + _SECONDS.value
  score = notes.read_midi(_MIDI.value)
  excerpt = score.clip(start, end)  # key releases and the pedal, clipped to the excerpt
  renderer = Renderer(16000)
  audio, (played,) = renderer.render([(excerpt, 0)], _PIANO.value, _SECONDS.value)
  audio = effects.normalize_peak(audio, 10 ** (testsets.PEAK_DBFS / 20))
  audio_io.write_wav(os.path.join(_OUTPUT.value, "excerpt.wav"), audio, 16000)
  notes.write_midi(played, os.path.join(_OUTPUT.value, "excerpt.truth.mid"))
  truth = _sounding(played)
  record = Record("excerpt", audio, truth, played)  # pedal-extended reference, key releases beside it
  rolls, scores, frame_rate, n = {}, {}, 50.0, 0
  for name, model in zip(names, _MODELS.value, strict=True):
    predictor = inference.Predictor.from_checkpoint(model)
    frame_rate = predictor.frame_rate
    probs = inference.frame_outputs(predictor, audio)
    n = probs["frame"].shape[0]
    found = inference.transcription(predictor, probs)
    written = found.notes("cc64")  # what the transcribe command writes by default
    notes.write_midi(written, os.path.join(_OUTPUT.value, f"{name}.mid"))
    replayed, _ = renderer.render([(written, 0)], _PIANO.value, _SECONDS.value)
    audio_io.write_wav(os.path.join(_OUTPUT.value, f"{name}.wav"), effects.normalize_peak(replayed, 0.5), 16000)
    title = f"{name} ({os.path.basename(os.path.normpath(model))})"
    rolls[title] = (metrics.roll(_sounding(written), n, frame_rate), written.pedal_intervals())
    m = scoring.score_record(record, found, n, frame_rate)
    scores[name] = {k: round(v if k == "velocity_mae" else 100 * v, 1) for k, v in m.items()}
    print(name, " ".join(f"{k} {v}" for k, v in scores[name].items()))
  rolls = {
    f"truth: {os.path.basename(_MIDI.value)}, {start:g}-{end:g} s": (
      metrics.roll(truth, n, frame_rate),
      played.pedal_intervals(),
    ),
    **rolls,
  }
  figure = _FIGURE.value or os.path.join(_OUTPUT.value, "pedal_example.png")
  _draw(rolls, frame_rate, figure)
  summary = {"midi": _MIDI.value, "start": start, "seconds": _SECONDS.value, "piano": _PIANO.value}
  print(json.dumps({**summary, "figure": figure, "scores": scores}))


if __name__ == "__main__":
  app.run(main)
