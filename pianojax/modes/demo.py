"""`--mode=demo [--workdir=DIR]`: the main job on the embedded default (README's first command).

Renders a small synthetic dataset, trains the config for `train.steps` on this machine,
evaluates on the validation splits and prints the metrics table; then renders an example
(examples/prelude_c.mid) with a piano held out of training, transcribes it with the shipped
model and scores it against the score.
"""

from __future__ import annotations

import os

from pianojax import (
  audio_io,
  checkpoints,
  datasets,
  figures,
  frontend,
  inference,
  labels,
  metrics,
  notes,
  outputs,
  paths,
  testsets,
  trainer,
)
from pianojax.errors import UserError
from pianojax.synth import examples, soundfonts

EXAMPLE_MIDI = paths.shipped("examples", "prelude_c.mid")


def run(config, args) -> int:
  workdir = args.workdir or "outputs/demo"
  os.makedirs(workdir, exist_ok=True)
  spec = frontend.FrontendSpec.from_config(config.frontend)
  signals = examples.showcase(spec.sample_rate, config.data.synth.train_soundfonts, config.seed)
  figures.plot_features(signals, spec, os.path.join(workdir, "features.png"))
  datasets.build(config, datasets.default_names(config))
  result = trainer.train_and_evaluate(config, os.path.join(workdir, "run"))
  table = metrics_table(result)
  with open(os.path.join(workdir, "metrics.md"), "w") as f:
    f.write(table + "\n")
  print("\n" + table)
  print(f"\nfigure: {workdir}/features.png  checkpoints: {workdir}/run/checkpoints  metrics: {workdir}/metrics.md")
  transcribe_example(config, workdir)
  return 0


def transcribe_example(config, workdir: str) -> None:
  """Renders the example with the first held-out piano installed, transcribes it with the shipped model, scores it."""
  if not os.path.isdir(checkpoints.DEFAULT_MODEL):
    print(f"no shipped model at {checkpoints.DEFAULT_MODEL}: skipping the example transcription")
    return
  fonts = (*config.data.synth.test_soundfonts, *config.data.synth.train_soundfonts)
  font = next((f for f in fonts if f in soundfonts.available()), None)
  if font is None:
    raise UserError("no SoundFont installed to render the example: run scripts/setup.sh")
  (wav,), _ = testsets.render_midi(EXAMPLE_MIDI, font, workdir, config.frontend.sample_rate)
  print(f"\nexample: {EXAMPLE_MIDI} played by {font} (a piano the shipped model never heard) -> {wav}")
  predictor = inference.Predictor.from_checkpoint()
  model_config = predictor.config
  audio = audio_io.load_audio(wav, model_config.frontend.sample_rate)
  found = inference.transcription(predictor, inference.frame_outputs(predictor, audio))
  out = os.path.join(workdir, "transcription")
  os.makedirs(out, exist_ok=True)
  spec = frontend.FrontendSpec.from_config(model_config.frontend)
  outputs.write_transcription(found.notes("cc64"), os.path.join(out, "prelude_c"), ("mid", "png"), audio, spec)
  truth = labels.with_offsets(notes.read_midi(EXAMPLE_MIDI), "pedal")  # scored as it sounds: pedal-extended
  m = metrics.note_metrics(truth, found.sounding)
  print(
    f"shipped model on the example: onset F1 {100 * m['onset_f1']:.1f}%, onset+offset F1 "
    f"{100 * m['onset_offset_f1']:.1f}% ({len(found.sounding)} notes found)\n"
    f"MIDI: {out}/prelude_c.mid  piano roll: {out}/prelude_c.png"
  )


def metrics_table(result: dict) -> str:
  """A Markdown table of eval/<dataset>/<metric> values (one row per dataset)."""
  rows: dict[str, dict[str, float]] = {}
  for key, value in result.items():
    if key.startswith("eval/"):
      _, name, metric = key.split("/", 2)
      rows.setdefault(name, {})[metric] = value
  return metrics.markdown_table(dict(sorted(rows.items())), "dataset (validation)")
