"""What each `launch.py --mode` does, as plain functions of (config, paths)."""

from __future__ import annotations

import os

import numpy as np

from pianojax import audio_io, frontend
from pianojax.errors import UserError

# Decoding settings a flag can set (export stores them; tune searches its thresholds and holds the rest).
DECODE_FLAGS = ("onset_threshold", "frame_threshold", "min_note_ms", "min_repeat_ms")


def run(mode: str, config, *, workdir: str | None, input: str | None, output: str | None, **flags) -> None:  # noqa: A002
  if mode == "features":
    features(config, input, output)
  elif mode == "build_data":
    build_data(config, flags.get("datasets"))
  elif mode == "train":
    if not workdir:
      raise UserError("--workdir is required for --mode=train")
    from pianojax import train

    train.train_and_evaluate(config, workdir)
  elif mode == "transcribe":
    from pianojax import transcribe

    failures = transcribe.run(
      input,
      output,
      flags.get("checkpoint"),
      onset_threshold=flags.get("onset_threshold"),
      frame_threshold=flags.get("frame_threshold"),
      min_note_ms=flags.get("min_note_ms"),
      min_repeat_ms=flags.get("min_repeat_ms"),
    )
    if failures:
      raise SystemExit(2)
  elif mode == "eval":
    from pianojax import evaluate

    evaluate.run(flags.get("checkpoint"), flags.get("data"), output, offsets=flags.get("offsets") or "pedal")
  elif mode == "tune":
    from pianojax import tune

    fixed = {k: flags.get(k) for k in DECODE_FLAGS if k not in tune.SEARCHED and flags.get(k) is not None}
    tune.run(flags.get("checkpoint"), flags.get("data"), output, offsets=flags.get("offsets") or "pedal", **fixed)
  elif mode == "export":
    from pianojax import checkpoints

    if not flags.get("checkpoint") or not output:
      raise UserError("--checkpoint=RUN_OR_STEP_DIR and --output=NEW_DIR are required for --mode=export")
    decode = {k: flags.get(k) for k in DECODE_FLAGS if flags.get(k) is not None}
    hop = flags.get("segment_hop_frames")
    written = checkpoints.export_variables(flags["checkpoint"], output, decode=decode, segment_hop_frames=hop)
    print(f"exported {written}")
  elif mode == "sweep":
    if not workdir:
      raise UserError("--workdir is required for --mode=sweep")
    from pianojax import sweep

    sweep.run(
      config,
      flags.get("config_path") or "CONFIG",
      workdir,
      only=flags.get("variants"),
      base_flags=flags.get("config_overrides") or {},
    )
  elif mode == "render":
    from pianojax import testsets

    piano = flags.get("piano") or config.data.synth.test_soundfonts[0]
    if not output or not (flags.get("data") or input):
      raise UserError("--mode=render needs --output=DIR and --data=MATERIAL[,..] (test splits) or --input=MIDI")
    if flags.get("data"):
      testsets.render_tests(config, flags["data"], piano, output)
    if input:
      _, failed = testsets.render_midi(input, piano, output, config.frontend.sample_rate)
      if failed:
        raise SystemExit(2)
  elif mode == "demo":
    demo(config, workdir or "outputs/demo")
  else:
    raise UserError(f"unknown mode {mode!r}")


def build_data(config, names: str | None) -> None:
  """Builds the named TFDS datasets (default: the training mixture, plus maestro if configured)."""
  from pianojax import datasets

  if names:
    wanted = [n.strip() for n in names.split(",") if n.strip()]
  else:
    wanted = [n.strip() for n in config.data.train.split(",")]
    wanted += ["maestro"] if config.data.maestro_dir else []
  datasets.build(config, wanted)


def synthetic_signals(config) -> dict[str, np.ndarray]:
  """A rendered single note, chord, and piano mixed with other instruments and noise."""
  from pianojax.synth import materials, soundfonts
  from pianojax.synth.examples import make_example
  from pianojax.synth.render import Renderer

  rate = config.frontend.sample_rate
  font = next((f for f in config.data.synth.train_soundfonts if f in soundfonts.available()), None)
  if font is None:
    raise UserError("no SoundFont installed for the synthetic signals: run scripts/setup.sh")
  renderer = Renderer(rate)
  rng = np.random.default_rng(config.seed)
  grid = materials.single_note_grid()
  items = {
    "single note (C4)": materials.single_note(rng, grid.index((60, 90, 1.0))),
    "chords": materials.chords(rng, 4.0),
    "piano + instruments + noise": materials.mixture(rng, 4.0),
  }
  out = {}
  for name, material in items.items():
    audio, _ = make_example(material, renderer, font, rng)
    out[f"{name} [{font}]"] = audio.astype(np.float32) / 32768.0
  renderer.close()
  return out


def demo_signals(sample_rate: int, seconds: float = 2.0) -> dict[str, np.ndarray]:
  """Generated test signals: a harmonic tone (A4), a C major triad, and the triad in noise."""
  t = np.arange(int(seconds * sample_rate)) / sample_rate
  envelope = np.exp(-2.5 * t) * np.minimum(1.0, t / 0.005)

  def tone(f0):
    harmonics = [(k, 0.6**k) for k in range(1, 12) if k * f0 < sample_rate / 2]
    return envelope * sum(a * np.sin(2 * np.pi * k * f0 * t) for k, a in harmonics)

  note = 0.3 * tone(440.0)
  chord = 0.15 * (tone(261.63) + tone(329.63) + tone(392.0))
  noise = np.random.default_rng(0).standard_normal(t.size) * 0.03
  return {"tone A4": note, "triad C-E-G": chord, "triad + noise": chord + noise}


def features(config, input_path: str | None, output: str | None) -> None:
  """Writes the four-view feature figure for `input_path`.

  `--input=synthetic` renders a single note, chords and a mixture; no input draws
  generated tones (no SoundFont needed).
  """
  if not output:
    raise UserError("--output=FIGURE.png is required for --mode=features")
  from pianojax import figures

  spec = frontend.FrontendSpec.from_config(config.frontend)
  if input_path == "synthetic":
    signals = synthetic_signals(config)
  elif input_path:
    audio = audio_io.load_audio(input_path, spec.sample_rate)
    signals = {os.path.basename(input_path): audio}
  else:
    signals = {k: v.astype(np.float32) for k, v in demo_signals(spec.sample_rate).items()}
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  figures.plot_features(signals, spec, output)
  print(f"wrote {output}")


EXAMPLE_MIDI = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "prelude_c.mid")


def demo(config, workdir: str) -> None:
  """The main job on the embedded default (README's first command).

  Renders a small synthetic dataset, trains the config for `train.steps` on this machine,
  evaluates on the validation splits and prints the metrics table; then transcribes an
  example (examples/prelude_c.mid played by a piano held out of training) with the
  shipped model and scores it against the score.
  """
  from pianojax import train

  os.makedirs(workdir, exist_ok=True)
  features(config, "synthetic", os.path.join(workdir, "features.png"))
  build_data(config, None)
  result = train.train_and_evaluate(config, os.path.join(workdir, "run"))
  table = metrics_table(result)
  with open(os.path.join(workdir, "metrics.md"), "w") as f:
    f.write(table + "\n")
  print("\n" + table)
  print(f"\nfigure: {workdir}/features.png  checkpoints: {workdir}/run/checkpoints  metrics: {workdir}/metrics.md")
  transcribe_example(config, workdir)


def render_example(config, folder: str, midi: str = EXAMPLE_MIDI) -> tuple[str, object]:
  """Renders `midi` with the first held-out SoundFont piano installed into `folder` (WAV + the MIDI as played,
  named after `midi`); returns (WAV path, font)."""
  from pianojax import testsets
  from pianojax.synth import soundfonts

  fonts = [f for f in (*config.data.synth.test_soundfonts, *config.data.synth.train_soundfonts)]
  font = next((f for f in fonts if f in soundfonts.available()), None)
  if font is None:
    raise UserError("no SoundFont installed to render the example: run scripts/setup.sh")
  (wav,), _ = testsets.render_midi(midi, font, folder, config.frontend.sample_rate)
  return wav, font


def transcribe_example(config, workdir: str) -> None:
  """Transcribes the rendered example with the shipped model (models/default) and scores it."""
  from pianojax import metrics, notes, transcribe

  if not os.path.isdir(transcribe.DEFAULT_CHECKPOINT):
    print(f"no shipped model at {transcribe.DEFAULT_CHECKPOINT}: skipping the example transcription")
    return
  wav, font = render_example(config, workdir)
  print(f"\nexample: {EXAMPLE_MIDI} played by {font} (a piano the shipped model never heard) -> {wav}")
  out = os.path.join(workdir, "transcription")
  transcribe.run(wav, out, None)
  found = notes.read_midi(os.path.join(out, "prelude_c.mid"))
  m = metrics.note_metrics(notes.read_midi(EXAMPLE_MIDI), found)
  print(
    f"shipped model on the example: onset F1 {100 * m['onset_f1']:.1f}%, onset+offset F1 "
    f"{100 * m['onset_offset_f1']:.1f}% ({len(found)} notes found)\n"
    f"MIDI: {out}/prelude_c.mid  piano roll: {out}/prelude_c.png"
  )


def metrics_table(result: dict) -> str:
  """A Markdown table of eval/<dataset>/<metric> values (one row per dataset)."""
  from pianojax import metrics

  rows: dict[str, dict[str, float]] = {}
  for key, value in result.items():
    if key.startswith("eval/"):
      _, name, metric = key.split("/", 2)
      rows.setdefault(name, {})[metric] = value
  return metrics.markdown_table(dict(sorted(rows.items())), "dataset (validation)")
