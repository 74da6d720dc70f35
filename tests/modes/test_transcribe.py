"""`--mode=transcribe` as a user runs it: files and folders in, MIDI/CSV/PNG out, clear errors."""

import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pretty_midi
import pytest
import soundfile

from pianojax import checkpoints, notes
from tests.conftest import REPO, readme_example_onset_f1, require


def onset_f1(midi_path, piano_wav) -> float:
  from pianojax import metrics

  truth = notes.read_midi(piano_wav.parent / "piece.truth.mid")
  return metrics.note_metrics(truth, notes.read_midi(midi_path))["onset_f1"]


def transcribe(args):
  cmd = [sys.executable, "launch.py", "--mode=transcribe", *args]
  return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)


def test_file_to_midi_csv_and_figure_that_read_back(piano_wav, tmp_path):
  done = transcribe([f"--input={piano_wav}", f"--output={tmp_path}", "--formats=mid,csv,png"])  # the shipped model
  assert done.returncode == 0, done.stderr[-2000:]
  midi = pretty_midi.PrettyMIDI(str(tmp_path / "piece.mid"))
  rows = (tmp_path / "piece.csv").read_text().splitlines()
  assert rows[0] == "onset,offset,pitch,velocity"
  assert len(midi.instruments[0].notes) == len(rows) - 1 > 10
  assert onset_f1(tmp_path / "piece.mid", piano_wav) > 0.5
  assert (tmp_path / "piece.png").read_bytes()[:4] == b"\x89PNG"


def test_pedal_cc64_writes_key_releases_and_the_pedal_and_extend_writes_sounding_notes(piano_wav, tmp_path):
  runs = {}
  for mode in ("cc64", "extend"):
    done = transcribe([f"--input={piano_wav}", f"--output={tmp_path / mode}", f"--pedal={mode}"])
    assert done.returncode == 0, done.stderr[-2000:]
    runs[mode] = pretty_midi.PrettyMIDI(str(tmp_path / mode / "piece.mid")).instruments[0]
  cc64, extend = runs["cc64"], runs["extend"]
  assert not extend.control_changes  # for tools that ignore controllers
  key = lambda n: (n.start, n.pitch)  # noqa: E731
  a, b = sorted(cc64.notes, key=key), sorted(extend.notes, key=key)
  assert [key(n) for n in a] == [key(n) for n in b] and len(a) > 10  # the same notes ...
  assert all(x.end <= y.end + 1e-3 for x, y in zip(a, b, strict=True))  # ... let go no later than they sound
  if checkpoints.model_config().model.pedal:  # the shipped model has pedal heads: CC64 in the file
    assert {c.number for c in cc64.control_changes} == {64} and sum(
      x.end < y.end - 0.05 for x, y in zip(a, b, strict=True)
    ) > 0
  bad = transcribe([f"--input={piano_wav}", f"--output={tmp_path / 'bad'}", "--pedal=sustain"])
  assert bad.returncode != 0 and "cc64" in bad.stderr and "Traceback" not in bad.stderr


def test_folder_with_a_corrupt_file_transcribes_the_rest(run_dir, piano_wav, tmp_path):
  folder = tmp_path / "in"
  (folder / "sub").mkdir(parents=True)
  audio, rate = soundfile.read(piano_wav)
  soundfile.write(folder / "sub" / "good.flac", audio, rate)
  soundfile.write(folder / "stereo48k.wav", np.stack([audio, audio * 0.5], axis=1)[::1], rate)
  (folder / "corrupt.wav").write_bytes(b"RIFF0000WAVEfmt garbage" * 10)
  soundfile.write(folder / "silent.wav", np.zeros(16000), 16000)
  out = tmp_path / "out"
  done = transcribe([f"--input={folder}", f"--output={out}", f"--checkpoint={run_dir}"])
  assert done.returncode == 2, done.stderr[-2000:]
  assert "corrupt.wav" in done.stderr and "silent.wav" in done.stderr and "Traceback" not in done.stderr
  assert (out / "sub__good.mid").exists() and (out / "stereo48k.mid").exists()
  assert not (out / "corrupt.mid").exists()


def test_a_folder_gives_only_midi_and_the_same_notes_as_each_file_alone(piano_wav, tmp_path):
  """Files of a folder share batches (and the shipped model's segments), yet each file's notes are exactly those of
  the file transcribed alone; nothing but the MIDI files is written unless asked for."""
  from pianojax import audio_io, inference

  audio, rate = soundfile.read(piano_wav)
  folder = tmp_path / "in"
  folder.mkdir()
  pieces = {"a": audio, "b": audio[: len(audio) // 3] * 0.3, "c": np.concatenate([audio[rate:], audio])}
  for name, piece in pieces.items():
    soundfile.write(folder / f"{name}.wav", piece, rate)
  (folder / "notes.txt").write_text("not audio")
  out = tmp_path / "out"
  done = transcribe([f"--input={folder}", f"--output={out}"])
  assert done.returncode == 0, done.stderr[-2000:]
  assert sorted(p.name for p in out.iterdir()) == ["a.mid", "b.mid", "c.mid"]
  predictor = inference.Predictor.from_checkpoint()
  # the files as written (16-bit) and read as transcribe reads them: a velocity on a rounding edge flipped once when
  # the in-memory float signal stood in for the file
  signals = {n: audio_io.load_audio(folder / f"{n}.wav", predictor.config.frontend.sample_rate) for n in pieces}
  together = dict(inference.stream_outputs(predictor, signals.items()))
  for name, signal in signals.items():
    alone = inference.frame_outputs(predictor, signal)
    for head in alone:  # batches shared across files change nothing
      np.testing.assert_array_equal(together[name][head], alone[head], err_msg=f"{name} {head}")
    expected = tmp_path / f"{name}.alone.mid"
    notes.write_midi(inference.transcription(predictor, alone).released, expected)  # (the default: --pedal=cc64)
    found, want = notes.read_midi(out / f"{name}.mid"), notes.read_midi(expected)
    assert len(found) == len(want) > 3, name
    for field in ("pitch", "onset", "offset", "velocity"):
      np.testing.assert_array_equal(getattr(found, field), getattr(want, field), err_msg=f"{name} {field}")


def test_missing_or_mismatched_checkpoint_fails_in_one_line(run_dir, piano_wav, tmp_path):
  done = transcribe([f"--input={piano_wav}", f"--output={tmp_path}", f"--checkpoint={tmp_path / 'nothing'}"])
  assert done.returncode == 1 and "no such file or folder" in done.stderr and "Traceback" not in done.stderr
  # a checkpoint whose saved config does not describe its weights
  copy = tmp_path / "edited"
  shutil.copytree(run_dir, copy)
  root, step = checkpoints.resolve(str(copy))
  metadata = pathlib.Path(root) / str(step) / "config" / "metadata"
  config = json.loads(metadata.read_text())
  config["model"]["growth"] += 4
  metadata.write_text(json.dumps(config))
  done = transcribe([f"--input={piano_wav}", f"--output={tmp_path / 'out'}", f"--checkpoint={copy}"])
  assert done.returncode == 1 and "Traceback" not in done.stderr
  errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and f"checkpoint {copy}" in errors[0] and "does not fit its config" in errors[0]


@pytest.mark.parametrize("rate,channels", [(16000, 1), (44100, 2), (48000, 1)])
def test_rates_and_channels(piano_wav, tmp_path, rate, channels):
  import librosa

  audio, native = soundfile.read(piano_wav)
  audio = librosa.resample(audio, orig_sr=native, target_sr=rate)
  soundfile.write(tmp_path / "x.wav", np.stack([audio] * channels, axis=1) if channels == 2 else audio, rate)
  done = transcribe([f"--input={tmp_path / 'x.wav'}", f"--output={tmp_path}"])  # the shipped model, at 16 kHz
  assert done.returncode == 0, done.stderr[-2000:]
  assert onset_f1(tmp_path / "x.mid", piano_wav) > 0.5  # the same notes found whatever the rate and channels


def test_shipped_model_transcribes_the_example(tmp_path):
  """The model in models/default, on examples/prelude_c.mid played by a piano it never heard (the demo's last step)."""
  from pianojax import metrics, testsets
  from pianojax.synth import soundfonts

  require("musescore" in soundfonts.available(), "the held-out SoundFont (musescore) is not installed")
  (wav,), _ = testsets.render_midi(str(EXAMPLE), "musescore", str(tmp_path), 16000)
  done = transcribe([f"--input={wav}", f"--output={tmp_path / 'out'}"])
  assert done.returncode == 0, done.stderr[-2000:]
  found = notes.read_midi(tmp_path / "out" / "prelude_c.mid")
  m = metrics.note_metrics(notes.read_midi(EXAMPLE), found)
  assert m["onset_f1"] == pytest.approx(float(readme_example_onset_f1()) / 100, abs=0.005), m


EXAMPLE = REPO / "examples" / "prelude_c.mid"
