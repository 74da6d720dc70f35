"""The JAX sample player (synth/playback.py) against the NumPy reference (synth/banks.render)."""

import jax
import jax.numpy as jnp
import numpy as np

from pianojax.notes import NoteSequence
from pianojax.synth import banks, playback
from tests.synth.test_banks import RATE, _toy_bank

SAMPLES = 3 * RATE


def _random_notes(rng, n, pedal=True) -> NoteSequence:
  onset = rng.uniform(-0.8, 2.8, n)
  pedal_events = ((0.4, 1.5, 2.0), (127, 0, 100)) if pedal else ((), ())
  return NoteSequence(
    rng.integers(50, 100, n), onset, onset + rng.uniform(0.05, 1.0, n), rng.integers(1, 128, n), *pedal_events
  )


def _play(bank_list, seqs, *, bank_of=None, cents=None, curve=1.0, release=0.12, max_pairs=512, block=1024):
  samples, pitches, velocities = banks.stack(bank_list)
  n = max(len(s) for s in seqs) + 3

  def pad(x, dtype):
    out = np.zeros(n, dtype)
    out[: len(x)] = x
    return out

  def voice(i, s):
    owner = np.zeros(len(s), np.int32) if bank_of is None else bank_of[i]
    c = np.zeros(len(s)) if cents is None else cents[i]
    return playback.voices(
      jnp.asarray(pitches),
      jnp.asarray(velocities),
      samples.shape[-1],
      bank=jnp.asarray(pad(owner, np.int32)),
      pitch=jnp.asarray(pad(s.pitch, np.int32) + 21 * (np.arange(n) >= len(s))),
      onset=jnp.asarray(pad(s.onset, np.float32)),
      sounding=jnp.asarray(pad(s.pedal_offsets(), np.float32)),
      velocity=jnp.asarray(pad(s.velocity, np.float32)),
      valid=jnp.asarray(np.arange(n) < len(s)),
      sample_rate=RATE,
      velocity_curve=curve,
      cents=jnp.asarray(pad(c, np.float32)),
    )

  v = jax.tree.map(lambda *xs: jnp.stack(xs), *[voice(i, s) for i, s in enumerate(seqs)])
  audio, dropped = playback.play(
    jnp.asarray(samples.reshape(-1)),
    samples.shape[-1],
    v,
    SAMPLES,
    release_seconds=jnp.full(len(seqs), release),
    sample_rate=RATE,
    block=block,
    max_pairs=max_pairs,
  )
  return np.asarray(audio), np.asarray(dropped)


def test_same_notes_same_bank_same_audio_as_the_numpy_player():
  bank = _toy_bank()
  rng = np.random.default_rng(0)
  seqs = [_random_notes(rng, 12), _random_notes(rng, 20), _random_notes(rng, 5, pedal=False)]
  seqs[0] = NoteSequence.concatenate([seqs[0], NoteSequence([96, 100], [0.5, -0.2], [0.6, 0.1], [90, 60])])  # undamped
  cents = [rng.uniform(-30, 30, len(s)) for s in seqs]
  audio, dropped = _play([bank], seqs, cents=cents, curve=1.4, release=0.2)
  for got, seq, c in zip(audio, seqs, cents, strict=True):
    want = banks.render(bank, seq, SAMPLES, release_seconds=0.2, velocity_curve=1.4, cents=c)
    assert np.abs(want).max() > 0.1
    np.testing.assert_allclose(got, want, atol=2e-4 * np.abs(want).max())
  assert (dropped == SAMPLES).all()


def test_each_note_plays_from_its_own_bank():
  a, b = _toy_bank(), _toy_bank()
  b.samples = (b.samples // 2).astype(np.int16)
  seq = NoteSequence([60, 70], [0.1, 0.2], [0.8, 0.9], [100, 100])
  audio, _ = _play([a, b], [seq], bank_of=[np.array([1, 0])])
  want = banks.render(b, seq.select(np.array([True, False])), SAMPLES) + banks.render(
    a, seq.select(np.array([False, True])), SAMPLES
  )
  np.testing.assert_allclose(audio[0], want, atol=2e-4)


def test_onsets_land_on_their_sample():
  bank = _toy_bank()
  bank.samples[:, :, 0] = 20000  # a click at the attack: the first non-zero sample is the onset
  for onset in (0.0, 0.1, 0.123456, 1.99997):
    audio, _ = _play([bank], [NoteSequence([61], [onset], [onset + 0.5], [100])])
    assert int(np.argmax(audio[0] != 0)) == round(onset * RATE), onset


def test_notes_that_do_not_fit_are_dropped_whole_and_reported():
  bank = _toy_bank()
  seq = NoteSequence([60, 64, 68, 72], [0.0, 0.5, 1.0, 1.5], [0.3, 0.8, 1.3, 1.8], [100] * 4)
  # each note covers ceil((0.3 s + 6 x 0.12 s) x 16 kHz / 1024) + 1 = 17 blocks at most: room for two
  audio, dropped = _play([bank], [seq], max_pairs=36)
  want = banks.render(bank, seq.select(np.array([True, True, False, False])), SAMPLES)
  np.testing.assert_allclose(audio[0], want, atol=2e-4)
  assert dropped[0] == round(1.0 * RATE)
  # a batch shares its pairs: the same notes in the second example of two fit less
  audio, dropped = _play([bank], [seq.select(np.array([True, False, False, False])), seq], max_pairs=27)
  assert dropped[0] == SAMPLES and dropped[1] < SAMPLES
