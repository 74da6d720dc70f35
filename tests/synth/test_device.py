"""Batches synthesised on the device (synth/device.py), and training from them with nothing else installed."""

import jax
import numpy as np
import pytest

from pianojax import labels, settings
from pianojax.synth import device, materials, variety


def _batches(config, seeds=(0,), batch=4, pair_budget=None, **overrides):
  """One compiled batch function, called with each seed (`pair_budget`: fewer playback pairs, the same program)."""
  config = settings.apply_overrides(config, overrides.items())
  synth = device.DeviceSynth(config, device.load_assets(config))
  if pair_budget is not None:
    synth.arrays = synth.arrays._replace(knobs=synth.arrays.knobs._replace(pair_budget=np.int32(pair_budget)))
  make = synth.batch_fn(batch, with_kind=True, with_clean=True)
  return [jax.tree.map(np.asarray, make(jax.random.key(seed))) for seed in seeds]


MIXED = {"model.pedal": True, "data.device.alone_prob": 0.35}


@pytest.fixture(scope="module")
def mixed(device_assets):
  """Batches of every material with the pedal heads' targets; a third of the examples other instruments alone."""
  return _batches(device_assets, (3, 3, 4), batch=6, **MIXED)


def test_a_batch_has_the_host_pipelines_keys_and_shapes(device_assets, mixed):
  b = mixed[0]
  frames, samples = device_assets.data.segment_frames, device_assets.data.segment_frames * 320
  want = {*labels.TARGET_KEYS, *labels.RELEASE_KEYS, *labels.PEDAL_KEYS, "audio", "clean", "mask", "kind", "alone"}
  assert set(b) == want
  assert b["audio"].shape == (6, samples) and b["onset"].shape == (6, frames, 88)
  assert b["pedal_frame"].shape == (6, frames, 1) and b["mask"].shape == (6, frames)
  assert np.isfinite(b["audio"]).all() and np.abs(b["audio"]).max() <= 1.0
  peaks = np.abs(b["audio"]).max(axis=1)
  assert (peaks > 10 ** (-12.5 / 20)).all() and (peaks < 10 ** (-0.9 / 20)).all()  # -12..-1 dBFS


def test_a_key_gives_the_same_batch_bit_for_bit_and_another_key_another(mixed):
  a, again, other = mixed
  for k in a:
    np.testing.assert_array_equal(a[k], again[k], err_msg=k)
  assert not np.array_equal(a["audio"], other["audio"])


def test_other_instruments_alone_have_no_labels(mixed):
  alone = np.concatenate([b["alone"] for b in mixed])
  onsets = np.concatenate([b["onset"].sum(axis=(1, 2)) for b in mixed])
  assert alone.any() and not alone.all()
  assert (onsets[alone] == 0).all() and (onsets[~alone] > 0).any()


def test_the_clean_stem_is_the_piano_of_the_mix(mixed):
  b = mixed[0]
  assert b["clean"].shape == b["audio"].shape
  assert not b["clean"][b["alone"]].any()  # other instruments alone: no piano
  for audio, clean in zip(b["audio"][~b["alone"]], b["clean"][~b["alone"]], strict=True):
    assert np.abs(clean).max() > 1e-3 and np.abs(clean).max() <= np.abs(audio).max() * 1.5
    assert np.corrcoef(audio, clean)[0, 1] > 0.3  # the piano is in the mix, at its level


def test_onset_targets_sit_on_the_rendered_attacks(device_assets):
  plain = {
    **MIXED,  # (the same program as `mixed`: these settings are values passed to it, not compiled in)
    "data.device.material_weights": (1.0, 0.0, 0.0, 0.0),  # isolated notes only
    "data.device.variety_on": False,
    "data.device.others_prob": 0.0,
    "data.device.alone_prob": 0.0,
  }
  (b,) = _batches(device_assets, batch=6, **plain)
  assert (b["kind"] == 0).all()
  hop = 320
  for audio, onset in zip(b["audio"], b["onset"], strict=True):
    frames = np.nonzero(onset.max(axis=1))[0]
    assert len(frames) >= 1
    first_sound = int(np.argmax(np.abs(audio) > 1e-4))
    assert abs(first_sound / hop - frames[0]) <= 0.5 + 0.01 * 16000 / hop  # within half a frame (+ a 10 ms attack)
    assert np.abs(audio[: max(frames[0] * hop - hop, 0)]).max(initial=0) < 1e-6  # silence before it (FFT round-off)


def test_every_accompaniment_family_comes_from_every_source_and_each_plays(device_assets):
  dev = device_assets.data.device
  assets = device.load_assets(device_assets)
  families = [family for family, _ in dev.others]
  assert len(assets.others) == len(dev.others_sources) * len(families) == 4
  for i, bank in enumerate(assets.others):  # source-major: FluidR3's strings, bass, then TimGM6mb's
    low, high = materials.INSTRUMENT_RANGES[families[i % 2]]
    np.testing.assert_array_equal(assets.others_ranges[i], (low, high))
    assert low <= bank.pitches.min() and bank.pitches.max() <= high
  fluid, tim = assets.others[0].float_samples(), assets.others[2].float_samples()
  n = min(fluid.shape[-1], tim.shape[-1])
  assert np.abs(fluid[..., :n] - tim[..., :n]).mean() > 0.1 * np.abs(fluid).mean()  # two SoundFonts' strings differ
  synth = device.DeviceSynth(device_assets, assets)
  arrays = jax.tree.map(jax.numpy.asarray, synth.arrays)
  piano = synth._material(arrays, jax.random.key(1))[:2]  # (a coupled part would follow it; these are lines)
  draw = lambda k: synth._others(arrays, k, *piano, coupled=False)  # noqa: E731
  _, owners = jax.vmap(draw)(jax.random.split(jax.random.key(0), 64))
  assert set(np.unique(np.asarray(owners))) == {0, 1, 2, 3}  # each bank is drawn


def test_notes_left_out_are_masked_not_mislabelled(mixed, device_assets):
  full = mixed[0]
  (tight,) = _batches(device_assets, (3,), batch=6, pair_budget=24, **MIXED)
  assert full["mask"].min() == 1.0
  cut = tight["mask"].min(axis=1) == 0
  assert cut.any()
  for i in np.nonzero(cut)[0]:
    upto = int(tight["mask"][i].sum())
    assert tight["mask"][i, :upto].all() and not tight["mask"][i, upto:].any()  # masked from a point on
    for name in ("onset", "frame", "pedal_frame"):  # the labels before it are those of the whole batch
      np.testing.assert_array_equal(tight[name][i, :upto], full[name][i, :upto], err_msg=name)


def test_variety_draws_stay_in_their_ranges(device_assets):
  cfg = device_assets.data.device.variety
  v = jax.vmap(lambda k: variety.draw(k, cfg, 2, True))(jax.random.split(jax.random.key(0), 512))
  v = jax.tree.map(np.asarray, v)
  assert set(np.unique(v.bank_a)) == {0, 1}
  assert np.abs(v.detune_cents).max() <= cfg.detune_cents and v.detune_cents.std() > cfg.detune_cents / 3
  assert cfg.velocity_curve[0] <= v.velocity_curve.min() and v.velocity_curve.max() <= cfg.velocity_curve[1]
  assert 0.7 < v.reverb.mean() < 0.9 and np.isinf(v.hum_db).mean() > 0.7
  plain = jax.tree.map(np.asarray, variety.draw(jax.random.key(0), cfg, 2, False))
  assert plain.mix_b == 0 and plain.velocity_curve == 1 and not plain.reverb and not plain.mic_noise


def test_noise_is_added_at_its_snr():
  tables = tuple(jax.numpy.asarray(x) for x in variety.noise_tables(16000))
  v = variety.draw(jax.random.key(0), _plain_cfg(), 1, False)
  t = np.arange(32000) / 16000
  tone = 0.1 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
  for snr in (0.0, 10.0, 20.0):
    out = np.asarray(
      variety.finish(
        tone, jax.random.key(1), tables, v, sample_rate=16000, max_rt60=1.5, noise_snr_db=snr, noise_pink=0.5
      )
    )
    signal = out @ tone / (tone @ tone) * tone  # (no room, EQ or drift in the plain draw: the tone comes out scaled)
    measured = 10 * np.log10(np.mean(signal**2) / np.mean((out - signal) ** 2))
    assert abs(measured - snr) < 0.5, (snr, measured)


def test_a_stem_goes_through_the_rooms_and_level_of_its_mix_without_the_noise():
  tables = tuple(jax.numpy.asarray(x) for x in variety.noise_tables(16000))
  v = variety.draw(jax.random.key(3), _plain_cfg(), 1, True)
  v = v._replace(reverb=np.bool_(True), mic_noise=np.bool_(False), hum_db=np.float32(-np.inf))
  t = np.arange(32000) / 16000
  a, b = (0.1 * np.sin(2 * np.pi * f * t).astype(np.float32) for f in (440, 660))

  def finish(stem, snr):
    kw = dict(sample_rate=16000, max_rt60=1.5, noise_snr_db=snr, noise_pink=0.5, stem=stem)
    return [np.asarray(x) for x in variety.finish(a + b, jax.random.key(1), tables, v, **kw)]

  mix, stem_a = finish(a, np.inf)
  _, stem_b = finish(b, np.inf)
  np.testing.assert_allclose(stem_a + stem_b, mix, atol=1e-5)  # the same room, EQ, drift and gain for each part
  noisy, stem = finish(a, 10.0)  # noise in the mix only: the stem is the same, at the noisy mix's level
  np.testing.assert_allclose(stem * (stem_a @ stem_a) / (stem @ stem_a), stem_a, atol=1e-5)
  assert np.mean((noisy - stem - stem_b * (stem @ stem_a) / (stem_a @ stem_a)) ** 2) > 1e-4


def test_an_eq_tilts_and_a_flat_one_passes():
  rate, t = 16000, np.arange(32000) / 16000
  tones = {f: np.sin(2 * np.pi * f * t).astype(np.float32) for f in (500.0, 4000.0)}
  flat = variety.draw_eq(jax.random.key(0), _plain_cfg(), False)
  for tone in tones.values():
    np.testing.assert_allclose(np.asarray(variety.equalize(tone, flat, rate)), tone, atol=1e-4)
  tilt = flat._replace(tilt_db=np.float32(3.0))  # +3 dB per octave around 1 kHz: 500 Hz -3 dB, 4 kHz +6 dB
  level = {
    f: 20 * np.log10(np.std(np.asarray(variety.equalize(x, tilt, rate))[4000:-4000]) / np.std(x))
    for f, x in tones.items()
  }
  assert abs(level[500.0] + 3.0) < 0.1 and abs(level[4000.0] - 6.0) < 0.1, level
  drawn = [variety.draw_eq(jax.random.key(k), _plain_cfg(), True) for k in range(20)]
  assert all(abs(float(e.tilt_db)) <= 3.0 and np.all(np.abs(np.asarray(e.db)) <= 6.0) for e in drawn)
  assert len({round(float(e.tilt_db), 4) for e in drawn}) == 20


def test_the_other_instruments_own_eq_changes_their_sound_and_nothing_else(device_assets):
  alone = {"data.device.alone_prob": 1.0, "data.device.others_prob": 0.0, "data.device.variety_on": False}
  (plain,) = _batches(device_assets, (5,), **alone)
  (eq,) = _batches(device_assets, (5,), **alone, **{"data.device.others_eq": 1.0})
  for k in plain:
    if k not in ("audio", "clean"):
      np.testing.assert_array_equal(eq[k], plain[k], err_msg=k)  # the same notes, labels and draws
  sounding = np.abs(plain["audio"]).max(axis=1) > 1e-3
  assert sounding.sum() >= 2
  unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
  for a, b in zip(unit(plain["audio"][sounding]), unit(eq["audio"][sounding]), strict=True):
    assert np.linalg.norm(a - b) > 0.05  # each example's instruments sound different (not only louder or softer)
  solo = {"data.device.alone_prob": 0.0, "data.device.others_prob": 0.0}
  (plain,), (eq,) = (
    _batches(device_assets, (6,), **solo),
    _batches(device_assets, (6,), **solo, **{"data.device.others_eq": 1.0}),
  )
  np.testing.assert_allclose(eq["audio"], plain["audio"], atol=1e-5)  # no instruments: the piano as it was


def _with_the_piano(b, window: int = 2) -> tuple[int, int, int]:
  """(other instruments' onsets within `window` frames of a piano onset, on a key whose pitch class the piano
  sounds there; those of them whose pitch class the piano does not strike there (a chord tone it holds); all)."""
  hits = held = total = 0
  for onset, frame_roll, other in zip(b["onset"], b["frame"], b["other_onset"], strict=True):
    for frame, key in zip(*np.nonzero(other >= 1.0), strict=True):
      near = slice(max(frame - window, 0), frame + window + 1)
      sounding = np.arange(88)[frame_roll[near].max(axis=0) > 0] % 12
      struck = np.arange(88)[onset[near].max(axis=0) >= 1.0] % 12
      total += 1
      hit = struck.size > 0 and key % 12 in sounding
      hits += hit
      held += hit and key % 12 not in struck
  return hits, held, total


def test_coupled_instruments_play_the_pianos_notes_and_leave_it_alone(device_assets):
  """others_coupled=1: the other instruments' onsets fall on the piano's onsets, on pitch classes it sounds (struck
  then or held), whether they double its notes or play as an ensemble would (others_following=1); their own melody
  lines (0) rarely do; the piano, its labels and the draws of everything else stay what they were."""
  mixed = {"data.device.alone_prob": 0.0, "data.device.others_prob": 1.0, "loss.others_negative_weight": 1.0}
  (lines,), (coupled,) = (
    _batches(device_assets, (8,), batch=8, **mixed),
    _batches(device_assets, (8,), batch=8, **mixed, **{"data.device.others_coupled": 1.0}),
  )
  hits, held, total = _with_the_piano(coupled)
  assert total >= 20 and hits / total > 0.9
  assert held >= 3  # some enter on a note the piano holds, not with it
  hits, _, total = _with_the_piano(lines)
  assert total >= 20 and hits / total < 0.6
  follow = {**mixed, "data.device.others_coupled": 1.0, "data.device.others_following": 1.0}
  (ensemble,) = _batches(device_assets, (8,), batch=8, **follow)
  hits, _, total = _with_the_piano(ensemble)
  assert total >= 20 and hits / total > 0.9
  assert not np.array_equal(ensemble["other_onset"], coupled["other_onset"])
  np.testing.assert_array_equal(ensemble["onset"], coupled["onset"])
  for k in ("onset", "frame", "offset", "mask", "kind"):
    np.testing.assert_array_equal(coupled[k], lines[k], err_msg=k)
  assert not np.array_equal(coupled["other_onset"], lines["other_onset"])


def test_the_accompaniments_level_follows_others_db(device_assets):
  """Everything but the piano (audio - its clean stem: the instruments and the noise, set against the mix) is ~15 dB
  louder against the piano with others_db=(3, 3) than with (-12, -12); the piano's notes and labels stay."""
  mixed = {"data.device.alone_prob": 0.0, "data.device.others_prob": 1.0}
  (quiet,), (loud,) = (
    _batches(device_assets, (9,), **mixed, **{"data.device.others_db": (-12.0, -12.0)}),
    _batches(device_assets, (9,), **mixed, **{"data.device.others_db": (3.0, 3.0)}),
  )
  np.testing.assert_array_equal(quiet["onset"], loud["onset"])
  rest_db = lambda b: 10 * np.log10(((b["audio"] - b["clean"]) ** 2).sum(1) / (b["clean"] ** 2).sum(1))  # noqa: E731
  assert np.median(rest_db(loud) - rest_db(quiet)) > 10.0


def _plain_cfg():
  from configs import default

  return default.get_config().data.device.variety


@pytest.mark.parametrize(
  "bad",
  [
    {"data.device.materials": ("chords", "waltzes"), "data.device.material_weights": (1.0, 1.0)},
    {"data.device.material_weights": (1.0,)},
    {"data.device.others_sources": ""},
    {"data.device.pianos": ""},
    {"data.device.others_eq": 1.5},
    {"data.device.others_coupled": -0.5},
    {"data.device.others_db": (3.0, -6.0)},
  ],
)
def test_bad_device_settings_are_named(device_assets, bad):
  from pianojax.errors import UserError

  with pytest.raises(UserError, match=r"data\.device\.(materia|others_sources|pianos|others_)"):
    settings.validate(settings.apply_overrides(device_assets, bad.items()))
