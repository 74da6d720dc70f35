"""Faults and bad input (docs/RELIABILITY.md): each case asserts the message, the exit code and that nothing
finished was lost. Storage faults use a real 2-3 MB tmpfs where this machine lets root mount one."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
import soundfile

from pianojax import checkpoints, notes, settings, trainer
from pianojax.errors import UserError
from pianojax.synth import soundfonts
from tests.conftest import REPO, TINY_FLAGS, tiny_config

TINY = [*TINY_FLAGS, "--config.train.eval_every=1000"]


def launch(*args, **kwargs):
  return subprocess.run(
    [sys.executable, "launch.py", *args], cwd=REPO, capture_output=True, text=True, check=False, **kwargs
  )


def one_error_line(done) -> str:
  """The run's error: exactly one line starting with `error:`, and no traceback."""
  assert "Traceback" not in done.stderr, done.stderr[-3000:]
  errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1, done.stderr[-3000:]
  return errors[0]


@contextlib.contextmanager
def small_disk(tmp_path, size):
  """A tmpfs of `size` (root only); skips where the machine does not allow mounting one."""
  where = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
  where.mkdir()
  mounted = subprocess.run(
    ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, check=False
  )
  if mounted.returncode != 0:
    pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
  try:
    yield where
  finally:
    subprocess.run(["umount", "-l", str(where)], check=False)


# Training: nothing bad is ever saved, and the last good step is named.


@pytest.mark.parametrize(
  "learning_rate,message", [(1e30, "non-finite loss, gradient or update"), (1e6, "the loss diverged")]
)
def test_a_blown_up_run_stops_and_every_kept_checkpoint_is_good(tfds_dir, tmp_path, learning_rate, message):
  config = tiny_config(tfds_dir)
  config.optim.learning_rate = learning_rate
  config.optim.warmup_steps = 0
  config.optim.grad_clip = 0.0
  config.train.steps = 30
  config.train.log_every = 1
  config.train.checkpoint_every = 1
  config.train.keep_checkpoints = 2
  with pytest.raises(UserError, match=message) as info:
    trainer.train_and_evaluate(config, str(tmp_path / "run"), log=lambda *_: None)
  kept = checkpoints.Checkpoints(str(tmp_path / "run" / "checkpoints"))
  assert f"last good checkpoint is step {kept.latest_step()}" in str(info.value)
  for step in kept.manager.all_steps():
    variables = checkpoints.restore_variables(str(tmp_path / "run" / "checkpoints" / str(step)), config)
    largest = max(float(np.max(np.abs(np.asarray(x)))) for x in jax.tree.leaves(variables))
    assert largest < 1e3, (step, largest)  # finite, and not moved by a step of lr 1e6 (NaN fails this too)


def test_a_full_disk_during_training_is_one_line_and_the_run_resumes(tfds_dir, tmp_path):
  args = [
    *TINY,
    f"--config.data.tfds_dir={tfds_dir}",
    "--config.train.checkpoint_every=2",
    "--config.train.log_every=2",
  ]
  with small_disk(tmp_path, size="6M") as disk:  # three checkpoints of 1.7 MB fit, the fourth does not
    done = launch("--mode=train", *args, "--config.train.steps=20", f"--workdir={disk / 'run'}")
    assert done.returncode == 1
    line = one_error_line(done)
    assert "No space left on device" in line and "intact" in line
    saved = sorted(int(d) for d in os.listdir(disk / "run" / "checkpoints") if d.isdigit())
    assert saved and f"(step {saved[-1]})" in line
    shutil.copytree(disk / "run", tmp_path / "run")
  done = launch("--mode=train", *args, "--config.train.steps=8", f"--workdir={tmp_path / 'run'}")  # space again
  assert done.returncode == 0, done.stderr[-3000:]
  assert f"resumed from {tmp_path / 'run' / 'checkpoints'} at step {saved[-1]}" in done.stdout
  assert checkpoints.Checkpoints(str(tmp_path / "run" / "checkpoints")).latest_step() == 8


def test_a_kill_during_a_checkpoint_write_resumes_from_a_complete_one(tfds_dir, tmp_path):
  code = f"""
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
from tests.conftest import tiny_config
from pianojax import checkpoints, trainer
config = tiny_config({str(tfds_dir)!r})
config.train.steps, config.train.checkpoint_every, config.train.eval_every = 6, 3, 1000
save = checkpoints.Checkpoints.save
def dying(self, step, *args, **kwargs):
  save(self, step, *args, **kwargs)
  if step == 3:
    os._exit(17)  # killed while the asynchronous write of step 3 runs
checkpoints.Checkpoints.save = dying
trainer.train_and_evaluate(config, {str(tmp_path / "run")!r}, log=print)
"""
  done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
  assert done.returncode == 17, done.stderr[-3000:]
  config = tiny_config(tfds_dir)
  config.train.steps, config.train.checkpoint_every, config.train.eval_every = 6, 3, 1000
  messages = []
  trainer.train_and_evaluate(config, str(tmp_path / "run"), log=messages.append)
  assert any(m.startswith("resumed from") for m in messages)
  assert checkpoints.Checkpoints(str(tmp_path / "run" / "checkpoints")).latest_step() == 6


# Checkpoints that cannot be used.


def corrupt_copy(run_dir, tmp_path):
  """A copy of the run whose latest checkpoint's array files are overwritten with garbage."""
  copy = tmp_path / "corrupt"
  shutil.copytree(run_dir, copy)
  root, step = checkpoints.resolve(str(copy))
  for folder, _, names in os.walk(os.path.join(root, str(step), "state")):
    for name in names:
      if "ocdbt" in folder or name.endswith(".zarray") or name == "manifest.ocdbt":
        with open(os.path.join(folder, name), "wb") as f:
          f.write(b"garbage")
  return copy, step


def test_a_corrupt_checkpoint_is_one_line_for_transcribe_and_for_resume(run_dir, tfds_dir, piano_wav, tmp_path):
  copy, step = corrupt_copy(run_dir, tmp_path)
  done = launch("--mode=transcribe", f"--checkpoint={copy}", f"--input={piano_wav}", f"--output={tmp_path / 'out'}")
  assert done.returncode == 1
  assert f"checkpoint {copy}" in one_error_line(done) and "corrupt" in done.stderr
  done = launch("--mode=train", *TINY, f"--config.data.tfds_dir={tfds_dir}", f"--config.train.steps={step + 1}",
                f"--workdir={copy}")  # fmt: skip
  assert done.returncode == 1
  assert f"step {step} is corrupt" in one_error_line(done) and "resume from an earlier one" in done.stderr


def test_inference_refuses_non_finite_weights(run_dir, piano_wav, tmp_path):
  config, _, variables = checkpoints.load_model(str(run_dir))
  poisoned = jax.tree.map(lambda x: np.full(x.shape, np.nan, np.float32), variables)
  with ocp.CheckpointManager(tmp_path / "nan", options=ocp.CheckpointManagerOptions(create=True)) as manager:
    args = ocp.args.Composite(
      variables=ocp.args.StandardSave(poisoned), config=ocp.args.JsonSave(settings.as_dict(config))
    )
    manager.save(1, args=args, force=True)
  done = launch("--mode=transcribe", f"--checkpoint={tmp_path / 'nan'}", f"--input={piano_wav}", f"--output={tmp_path}")
  assert done.returncode == 1 and "non-finite weights" in one_error_line(done)


# Folder commands: every item done that can be, failures named at the end, exit code 2.


def test_transcribe_never_overwrites_and_survives_a_full_disk(run_dir, piano_wav, tmp_path):
  folder = tmp_path / "in"
  folder.mkdir()
  audio, rate = soundfile.read(piano_wav)
  soundfile.write(folder / "song.wav", audio, rate)
  soundfile.write(folder / "song.flac", audio[: len(audio) // 2], rate)
  done = launch("--mode=transcribe", f"--checkpoint={run_dir}", f"--input={folder}", f"--output={tmp_path / 'out'}")
  assert done.returncode == 0, done.stderr[-3000:]
  assert sorted(p.name for p in (tmp_path / "out").glob("*.mid")) == ["song.flac.mid", "song.wav.mid"]
  for i in range(6):
    soundfile.write(folder / f"take{i}.wav", audio, rate)
  with small_disk(tmp_path, size="400k") as disk:  # (the piano rolls fill it)
    args = f"--checkpoint={run_dir}", f"--input={folder}", f"--output={disk}", "--formats=mid,csv,png"
    done = launch("--mode=transcribe", *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    written = {p.stem for p in disk.glob("*.mid")}
    failed = [line for line in done.stderr.splitlines() if line.startswith("  failed: ")]
    assert "No space left on device" in done.stderr and failed and written  # some done, the rest named
    assert len(failed) + len({p.stem for p in disk.glob("*.png")}) == 8
    assert all(
      notes.read_midi(disk / f"{stem}.mid") is not None for stem in written - {f.split("/")[-1] for f in failed}
    )


def test_a_truncated_wav_is_transcribed_with_a_warning(run_dir, piano_wav, tmp_path):
  data = piano_wav.read_bytes()
  cut = tmp_path / "cut.wav"
  cut.write_bytes(data[: len(data) // 2])
  done = launch("--mode=transcribe", f"--checkpoint={run_dir}", f"--input={cut}", f"--output={tmp_path / 'out'}")
  assert done.returncode == 0, done.stderr[-3000:]
  assert f"warning: {cut}: the file ends before its header says (50% missing)" in done.stderr
  assert (tmp_path / "out" / "cut.mid").is_file()


def test_eval_scores_what_it_can_and_names_the_rest(run_dir, piano_wav, tmp_path):
  folder = tmp_path / "set"
  folder.mkdir()
  audio, rate = soundfile.read(piano_wav)
  for name in ("good", "bad_midi", "empty_wav", "unpaired"):
    soundfile.write(folder / f"{name}.wav", audio, rate)
    notes.write_midi(notes.NoteSequence([60], [0.5], [1.0], [80]), folder / f"{name}.mid")
  (folder / "bad_midi.mid").write_bytes(b"MThd garbage")
  (folder / "empty_wav.wav").write_bytes(b"")
  (folder / "unpaired.mid").unlink()
  done = launch("--mode=eval", f"--checkpoint={run_dir}", f"--data={folder}", f"--output={tmp_path / 'report'}")
  assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
  report = json.loads((tmp_path / "report" / "eval.json").read_text())
  assert set(report["per_file"]) == {"good"} and report["scored"] == 1
  assert set(report["not_scored"]) == {"bad_midi", "empty_wav", str(folder / "unpaired.wav")}
  assert "no MIDI file of the same name" in report["not_scored"][str(folder / "unpaired.wav")]
  assert "1 file(s) scored, 3 not" in done.stderr


def test_build_data_refuses_a_midi_folder_where_no_file_reads(tmp_path):
  midi = tmp_path / "midi"
  midi.mkdir()
  for i in range(30):
    (midi / f"piece{i}.mid").write_bytes(b"not midi")
  done = launch(
    "--mode=build_data", "--data=performances", *TINY, f"--config.data.tfds_dir={tmp_path / 'tfds'}",
    f"--config.data.synth.midi_dir={midi}", "--config.data.synth.train_soundfonts=timgm6mb",
  )  # fmt: skip
  assert done.returncode == 1
  line = one_error_line(done)
  assert "MIDI files of the train split" in line and "is readable" in line


# Flags and config: checked before any work, one line naming the flag, nothing created.


@pytest.mark.parametrize(
  "mode,args,message",
  [
    ("train", ["--config.nope=1"], "--config.nope: unknown config field 'nope'; the config has data, decode"),
    ("train", ["--config.train.batch_size=0"], "--config.train.batch_size=0: must be a number >= 1"),
    ("train", ["--config.train.steps=-1"], "--config.train.steps=-1: must be a number >= 0"),
    ("train", ["--config.frontend.representation=cqt"], "choose from linear, mel, mfcc, logfreq"),
    ("train", ["--config.data.synth.midi_dir=/no/such/dir"], "--config.data.synth.midi_dir='/no/such/dir': no such"),
    ("train", ["--config.data.train=notes,drums"], "unknown dataset 'drums'"),
    ("train", ["--config.train.steps=many"], "--config.train.steps=many"),
    ("transcribe", ["--onset_threshold=1.5"], "--onset_threshold=1.5: must be a probability in [0, 1]"),
    ("transcribe", ["--frame_threshold=nan"], "--frame_threshold=nan: must be a probability in [0, 1]"),
    ("transcribe", ["--offset_threshold=2"], "--offset_threshold=2.0: must be a probability in [0, 1]"),
    ("transcribe", ["--min_note_ms=-5"], "--min_note_ms=-5.0: must be a number of milliseconds >= 0"),
    ("transcribe", ["--output=README.md", "--input=README.md"], "--output=README.md is a file: give a folder"),
    ("transcribe", ["--formats=mid,wav", "--input=x.wav", "--output=o"], "--formats: unknown format 'wav'"),
    ("train", ["--config=configs/nope.py"], "--config=configs/nope.py: cannot load it ([Errno 2] No such file"),
    ("eval", ["--checkpoint=/no/such/run", "--data=x", "--output=o"], "--checkpoint=/no/such/run: no such file"),
  ],
)
def test_bad_flags_are_one_line_before_any_work(tmp_path, mode, args, message):
  workdir = tmp_path / "work"
  done = launch(f"--mode={mode}", "--config=configs/tiny.py", f"--workdir={workdir}", *args)
  assert done.returncode == 1
  assert message in one_error_line(done)
  assert not workdir.exists()


def test_an_unknown_field_of_the_default_config_is_one_line():
  """Without --config= the default config takes the overrides when the flag is defined (at import)."""
  done = launch("--mode=eval", "--config.nope=1")
  assert done.returncode == 1
  assert "--config.nope: unknown config field 'nope'" in one_error_line(done)


def test_a_missing_soundfont_names_its_package(monkeypatch):
  monkeypatch.setitem(soundfonts.KNOWN, "csound", ("/no/such/sf_GMbank.sf2",))
  with pytest.raises(UserError, match="install the Debian package csound-soundfont"):
    soundfonts.find("csound")
  config = tiny_config("/tmp")
  config.data.synth.train_soundfonts = ("csound",)
  with pytest.raises(UserError, match="csound-soundfont"):
    settings.validate(config, render=True)
  settings.validate(config)  # training from built datasets needs no SoundFont
