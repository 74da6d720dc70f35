"""The sample-playback piano (synth/sampler.py) and the render mode, on a small bank of recorded tones.

The bank is written here (decaying harmonic tones as 48 kHz WAV files, named like the
Salamander files), so the tests need no download; the real Salamander bank is tested
where scripts/fetch_salamander.sh has put it.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from pianojax import audio_io, notes
from pianojax.errors import UserError
from pianojax.synth import sampler, soundfonts
from pianojax.synth.render import Renderer
from tests.conftest import REPO
from tests.test_data import f0_of

RATE = 16000
BANK_RATE = 48000


def hz(pitch):
  return 440.0 * 2 ** ((pitch - 69) / 12)


def tone(pitch, seconds=4.0, amplitude=0.5):
  t = np.arange(int(seconds * BANK_RATE)) / BANK_RATE
  partials = sum(np.sin(2 * np.pi * k * hz(pitch) * t) / k for k in (1, 2, 3))
  lead = np.zeros(BANK_RATE // 100)  # 10 ms of silence before the attack, as in recordings
  return np.concatenate([lead, amplitude * partials * np.exp(-t / 1.5) / 1.8])


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
  d = tmp_path_factory.mktemp("bank")
  for name, pitch in (("C4", 60), ("D#4", 63), ("C7", 96)):
    for layer, amplitude in ((4, 0.2), (12, 0.6)):
      stereo = np.stack([tone(pitch, amplitude=amplitude)] * 2, axis=1)
      soundfile.write(os.path.join(d, f"{name}v{layer}.wav"), stereo, BANK_RATE)
  (d / "README.txt").write_text("not a sample")
  return str(d)


def test_scan_names_pitches_and_layers(bank, tmp_path):
  found = sampler.scan(bank)
  assert sorted(found) == [(60, 4), (60, 12), (63, 4), (63, 12), (96, 4), (96, 12)]
  with pytest.raises(UserError, match="fetch_salamander"):
    sampler.scan(str(tmp_path / "missing"))
  with pytest.raises(UserError, match="no samples"):
    sampler.scan(str(tmp_path))


def test_note_starts_at_its_onset_with_its_pitch_and_layer(bank):
  s = sampler.Sampler(bank, RATE)
  for pitch in (60, 61, 62, 63, 64):  # sampled, shifted up, shifted down from D#4
    audio = s.render(notes.NoteSequence([pitch], [0.5], [2.5], [96]), 3.0)
    start = int(np.argmax(np.abs(audio) > 1e-3))
    assert abs(start / RATE - 0.5) < 0.002, (pitch, start / RATE)
    f0 = f0_of(audio[start : start + RATE // 2], RATE)
    assert abs(1200 * np.log2(f0 / hz(pitch))) < 10, (pitch, f0)
  # velocity 96 is layer 12's own velocity: the note is that sample, unscaled
  loud = s.render(notes.NoteSequence([60], [0.0], [2.0], [96]), 1.0)
  np.testing.assert_allclose(loud, s._sample(60, 12)[:RATE], atol=1e-6)
  soft = s.render(notes.NoteSequence([60], [0.0], [2.0], [32]), 1.0)  # layer 4, scaled by 32/32
  np.testing.assert_allclose(soft, s._sample(60, 4)[:RATE], atol=1e-6)
  assert np.abs(loud).max() > 2.5 * np.abs(soft).max()


def test_dampers_stop_a_released_note_unless_the_pedal_holds_it(bank):
  s = sampler.Sampler(bank, RATE)

  def level(audio, t):
    return float(np.sqrt(np.mean(audio[int(t * RATE) : int((t + 0.1) * RATE)] ** 2)))

  released = s.render(notes.NoteSequence([60], [0.0], [0.5], [96]), 3.0)
  assert level(released, 1.5) < 1e-3 * level(released, 0.3)
  pedalled = s.render(notes.NoteSequence([60], [0.0], [0.5], [96], pedal_time=[0.2, 2.0], pedal_value=[127, 0]), 3.0)
  assert level(pedalled, 1.5) > 0.3 * level(pedalled, 0.3)  # still ringing with the pedal down
  assert level(pedalled, 2.8) < 1e-3 * level(pedalled, 0.3)  # stopped once it is lifted
  undamped = s.render(notes.NoteSequence([96], [0.0], [0.5], [96]), 3.0)  # C7: no damper
  assert level(undamped, 1.5) > 0.3 * level(undamped, 0.3)


def test_renderer_plays_piano_from_the_bank_and_others_from_a_soundfont(bank):
  renderer = Renderer(RATE)
  piano = notes.NoteSequence([60, 64], [0.1, 0.6], [0.5, 1.0], [80, 80])
  audio, (played,) = renderer.render([(piano, 0)], bank, 1.5)
  np.testing.assert_array_equal(played.onset, piano.onset)  # no synthesizer grid: labels as given
  np.testing.assert_allclose(audio, sampler.Sampler(bank, RATE).render(piano, 1.5))
  violin, _ = renderer.render([(notes.NoteSequence([67], [0.1], [1.0], [90]), 40)], bank, 1.5)
  assert np.abs(violin).max() > 0.01  # GM program 40 came from the fallback SoundFont
  renderer.close()


def test_render_mode_writes_pairs_that_eval_reads(bank, tmp_path):
  out = tmp_path / "played"
  cmd = [sys.executable, "launch.py", "--mode=render", "--config=configs/tiny.py", f"--piano={bank}"]
  r = subprocess.run(
    [*cmd, "--input=examples/prelude_c.mid", f"--output={out}"], cwd=REPO, capture_output=True, text=True, check=False
  )
  assert r.returncode == 0, r.stderr
  audio = audio_io.load_audio(str(out / "prelude_c.wav"), RATE)
  score, played = notes.read_midi(REPO / "examples/prelude_c.mid"), notes.read_midi(out / "prelude_c.mid")
  np.testing.assert_array_equal(played.pitch, score.pitch)
  np.testing.assert_allclose(played.onset, score.onset, atol=1e-3)
  assert len(audio) / RATE == pytest.approx(score.end_time + 1.0, abs=0.01)
  assert np.abs(audio).max() == pytest.approx(10 ** (-3 / 20), abs=0.01)
  # a folder with a malformed MIDI file: the good one is rendered, the bad one named, exit code 2
  folder = tmp_path / "midis"
  folder.mkdir()
  (folder / "good.mid").write_bytes((REPO / "examples/prelude_c.mid").read_bytes())
  (folder / "bad.mid").write_bytes(b"not midi at all")
  r = subprocess.run(
    [*cmd, f"--input={folder}", f"--output={tmp_path / 'out2'}"], cwd=REPO, capture_output=True, text=True, check=False
  )
  assert r.returncode == 2 and "bad.mid" in r.stderr and "malformed MIDI" in r.stderr
  assert (tmp_path / "out2" / "good.wav").is_file() and not (tmp_path / "out2" / "bad.wav").exists()
  # refusing to overwrite the source MIDI, in one line
  r = subprocess.run(
    [*cmd, "--input=examples/prelude_c.mid", "--output=examples"], cwd=REPO, capture_output=True, text=True, check=False
  )
  assert r.returncode == 1 and r.stderr.strip().startswith("error:") and "overwrite" in r.stderr
  assert len(r.stderr.strip().splitlines()) == 1


SALAMANDER = soundfonts.sample_bank("salamander")


@pytest.mark.skipif(
  not os.path.isdir(SALAMANDER), reason="Salamander samples not fetched (scripts/fetch_salamander.sh)"
)
def test_salamander_plays_every_key_at_its_pitch():
  s = sampler.Sampler(SALAMANDER, RATE)
  assert len(s.pitches) == 30 and len(s.layers) >= 8
  for pitch in range(21, 109, 4):  # shifted and unshifted notes, bottom to top
    audio = s.render(notes.NoteSequence([pitch], [0.0], [1.0], [80]), 1.0)
    peak = f0_of(audio[: RATE // 2], RATE)  # the strongest partial: a harmonic of the note
    harmonic = max(1, round(peak / hz(pitch)))
    # within a quarter tone: a real grand is stretch-tuned (its A7 sample is 38 cents sharp)
    assert abs(1200 * np.log2(peak / harmonic / hz(pitch))) < 50, (pitch, peak)


def test_rendered_test_folder_is_the_tfds_test_split_when_the_piano_is_the_same(tfds_dir, bank, tmp_path):
  """--mode=render --data=NAME replays the test split's material: same piano -> the same samples and notes."""
  from pianojax import datasets, evaluate, testsets
  from pianojax.datasets import features
  from tests.test_train import tiny_config

  config = tiny_config(tfds_dir)
  (folder,) = testsets.render_tests(config, "chords", config.data.synth.test_soundfonts[0], str(tmp_path))
  source = datasets.data_source(config, "chords", "test")
  found = evaluate.folder_records(folder)
  assert len(found) == len(source) == 2
  for i, (_, wav, midi) in enumerate(found):
    stored = source[i]
    written, rate = soundfile.read(wav, dtype="int16")
    assert rate == config.frontend.sample_rate
    np.testing.assert_array_equal(written, stored["audio"])
    ref, played = features.decode_notes(stored), notes.read_midi(midi)
    np.testing.assert_array_equal(played.pitch, ref.pitch)
    np.testing.assert_allclose(played.onset, ref.onset, atol=2e-3)
  # a validation split (here played by the sample bank) goes to its own folder; an unknown split is one clear error
  (val,) = testsets.render_tests(config, "chords:validation", bank, str(tmp_path / "v"))
  assert val.endswith("chords-validation") and len(evaluate.folder_records(val)) == 2
  with pytest.raises(UserError, match="split must be"):
    testsets.render_tests(config, "chords:dev", "musescore", str(tmp_path))
