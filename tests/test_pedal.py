"""Note ends and the sustain pedal: key-release and pedal targets, decoding both forms, pedal metrics, MIDI output,
and checkpoints from before the pedal heads."""

import numpy as np
import pytest

from pianojax import decoding, heads, labels, metrics, notes, objectives
from tests.conftest import note_seq as seq
from tests.conftest import tiny_config

RATE = 50.0  # frames per second
SETTINGS = decoding.DecodeSettings(
  onset_threshold=0.5, frame_threshold=0.5, offset_threshold=0.5, min_note_ms=30.0, min_repeat_ms=0.0
)
SUSTAINED = seq(
  (60, 0.2, 0.6, 90),  # let go at 0.6 s under the pedal (down 0.4-1.6 s): sounds until 1.6 s
  (64, 2.0, 2.4, 70),  # no pedal: sounds until its key release
  pedal=((0.4, 1.6), (127, 0)),
)


def _targets_as_outputs(sequence, n_frames=150):
  """The targets of `sequence` as a perfect regression model's probabilities."""
  t = labels.frame_targets(
    labels.with_offsets(sequence, "pedal"), n_frames, RATE, regression_frames=5, key_notes=sequence
  )
  names = ("onset_reg", "offset_reg", "frame", "velocity", "key_frame", "key_offset_reg", "pedal_frame")
  return {k: t[k].copy() for k in (*names, "pedal_onset_reg", "pedal_offset_reg")}


def test_targets_end_at_the_key_release_and_mark_the_pedal():
  t = _targets_as_outputs(SUSTAINED)
  k = 60 - notes.MIN_PITCH
  assert t["key_frame"][10:30, k].all() and not t["key_frame"][30:, k].any()  # key down 0.2-0.6 s
  assert t["frame"][10:80, k].all() and not t["frame"][80:, k].any()  # sounding until the pedal is up (1.6 s)
  assert np.flatnonzero(t["pedal_frame"][:, 0]).tolist() == list(range(20, 80))
  assert t["pedal_onset_reg"][20, 0] == 1.0 and t["pedal_offset_reg"][80, 0] == 1.0
  assert t["key_offset_reg"][30, k] == 1.0 and t["offset_reg"][80, k] == 1.0


def test_a_key_let_go_under_the_pedal_is_left_out_of_the_release_targets_until_the_pedal_lifts():
  t = labels.frame_targets(labels.with_offsets(SUSTAINED, "pedal"), 150, RATE, regression_frames=5, key_notes=SUSTAINED)
  audible, k = t["key_audible"], 60 - notes.MIN_PITCH
  # key 60 let go at 0.6 s (frame 30) under the pedal, which lifts at 1.6 s (frame 80)
  assert np.flatnonzero(audible[:, k] == 0).tolist() == list(range(30 - labels.PEDALLED_MARGIN, 80))
  audible[:, k] = 1.0
  assert audible.all()  # key 64 is let go at 2.4 s with the pedal up: heard, as every other key


def test_without_pedalled_releases_the_release_loss_ignores_keys_let_go_under_the_pedal():
  t = labels.frame_targets(labels.with_offsets(SUSTAINED, "pedal"), 150, RATE, regression_frames=5, key_notes=SUSTAINED)
  batch = {k: v[None] for k, v in t.items()} | {"mask": np.ones((1, 150), np.float32)}
  outputs = {k: np.random.default_rng(0).normal(size=v.shape).astype(np.float32) for k, v in batch.items()}
  weights = tiny_config("/tmp", **{"model.pedal": True}).loss
  k = 60 - notes.MIN_PITCH

  def release_loss(frame, pedalled):
    changed = {name: v.copy() for name, v in outputs.items()}
    if frame is not None:  # both key-release heads made wrong (confidently up / no release) at one frame of key 60
      changed["key_frame"][0, frame, k] = -8.0
      changed["key_offset"][0, frame, k] = -8.0
    weights.pedalled_releases = pedalled
    return float(objectives.losses(changed, batch, "hybrid", weights)["release"])

  # frame 30: the key release under the pedal; frame 20: the key is down (and heard)
  for pedalled in (True, False):
    assert release_loss(20, pedalled) != pytest.approx(release_loss(None, pedalled), rel=1e-6)
  assert release_loss(30, False) == pytest.approx(release_loss(None, False), rel=1e-6)
  assert release_loss(30, True) != pytest.approx(release_loss(None, True), rel=1e-6)


def test_a_pedal_pressed_before_the_window_has_no_onset_in_it():
  clipped = SUSTAINED.clip(1.0, 3.0, clamp=False)  # the pedal went down at 0.4 s
  t = labels.pedal_targets(clipped, 100, RATE)
  assert t["pedal_frame"][:30, 0].all() and not t["pedal_frame"][30:, 0].any()
  assert not t["pedal_onset"].any() and not t["pedal_onset_reg"].any()
  assert t["pedal_offset"][30, 0] == 1.0


def test_a_note_held_by_the_pedal_decodes_with_its_key_up_time_and_the_cc64_events():
  found = decoding.decode_all(_targets_as_outputs(SUSTAINED), RATE, "regression", SETTINGS)
  released, sounding = found.released, found.sounding
  assert released.pitch.tolist() == [60, 64]
  np.testing.assert_allclose(released.onset, [0.2, 2.0], atol=1e-3)
  np.testing.assert_allclose(released.offset, [0.6, 2.4], atol=1e-3)  # key releases
  np.testing.assert_allclose(released.pedal_time, [0.4, 1.6], atol=1e-3)
  assert released.pedal_value.tolist() == [127, 0]
  np.testing.assert_allclose(sounding.offset, [1.6, 2.4], atol=1e-3)  # pedal-extended
  assert not len(sounding.pedal_time)
  assert found.notes("extend") is sounding and found.notes("cc64") is released


def test_a_key_let_go_under_the_pedal_is_extended_even_where_the_sound_faded():
  # The frame head lost the note at 1.0 s (a quiet tail), but the key went up under the pedal: it sounds to 1.6 s.
  probs = _targets_as_outputs(SUSTAINED)
  k = 60 - notes.MIN_PITCH
  probs["frame"][50:, k] = 0.0
  probs["offset_reg"][:, k] = 0.0
  found = decoding.decode_all(probs, RATE, "regression", SETTINGS)
  np.testing.assert_allclose(found.sounding.offset[found.sounding.pitch == 60], [1.6], atol=1e-3)


@pytest.mark.parametrize("objective", heads.OBJECTIVES)
def test_a_legato_pedal_change_the_frame_head_smooths_over_splits_at_the_event_heads(objective):
  # Pedal down 0.4-1.0 s and again 1.1-1.6 s (a 100 ms lift), but the pedal frame head stays up through the lift:
  # the pedal offset and onset events inside the run split it into two presses.
  changed = seq((60, 0.2, 0.6, 90), pedal=((0.4, 1.0, 1.1, 1.6), (127, 0, 127, 0)))
  t = labels.pedal_targets(changed, 150, RATE)
  frame = t["pedal_frame"].copy()
  frame[50:55] = 1.0  # (the lift, smoothed over)
  down, up, _ = heads.of(objective).pedal
  onset = decoding._Event(t[down][:, 0].copy(), heads.is_triangle(down))
  offset = decoding._Event(t[up][:, 0], heads.is_triangle(up))
  times, values = decoding._pedal(frame[:, 0], onset, offset, 0.5)
  np.testing.assert_allclose(times / RATE, [0.4, 1.0, 1.1, 1.6], atol=1e-3)
  assert values.tolist() == [127, 0, 127, 0]
  # an offset event with no new press after it (the head hesitating inside a long press) does not split it
  onset.y[52:60] = 0.0
  times, _ = decoding._pedal(frame[:, 0], onset, offset, 0.5)
  np.testing.assert_allclose(times / RATE, [0.4, 1.6], atol=1e-3)


def test_a_model_without_pedal_heads_gives_its_sounding_notes_for_both_forms():
  probs = {k: v for k, v in _targets_as_outputs(SUSTAINED).items() if not k.startswith(("key_", "pedal_"))}
  found = decoding.decode_all(probs, RATE, "regression", SETTINGS)
  assert found.released is found.sounding
  np.testing.assert_allclose(found.sounding.offset, [1.6, 2.4], atol=1e-3)


@pytest.mark.parametrize("objective", heads.OBJECTIVES)
def test_every_objective_decodes_a_perfect_models_outputs(objective):
  # The targets each objective trains its heads on, read back as a perfect model's probabilities: the notes, key
  # releases and pedal come back (triangle heads sub-frame, event heads on the frame grid: 0.2 s at 50 frames/s).
  t = labels.frame_targets(labels.with_offsets(SUSTAINED, "pedal"), 150, RATE, regression_frames=5, key_notes=SUSTAINED)
  names = heads.of(objective)
  probs = {k: t[k] for k in (*names.notes, *names.release, *names.pedal)}
  assert len(probs) == 9 and any(heads.is_triangle(k) for k in probs) == (objective != "classification")
  found = decoding.decode_all(probs, RATE, objective, SETTINGS)
  assert found.released.pitch.tolist() == [60, 64]
  np.testing.assert_allclose(found.released.onset, [0.2, 2.0], atol=1e-3)
  np.testing.assert_allclose(found.released.offset, [0.6, 2.4], atol=1e-3)
  np.testing.assert_allclose(found.released.pedal_time, [0.4, 1.6], atol=1e-3)
  np.testing.assert_allclose(found.sounding.offset, [1.6, 2.4], atol=1e-3)
  with pytest.raises(KeyError):  # another objective's heads are not read
    decoding.decode_all({k: v for k, v in probs.items() if k != names.offset}, RATE, objective, SETTINGS)


def test_hybrid_loss_is_regressions_onset_terms_and_classifications_end_terms():
  rng = np.random.default_rng(0)
  t = labels.frame_targets(labels.with_offsets(SUSTAINED, "pedal"), 150, RATE, regression_frames=5, key_notes=SUSTAINED)
  batch = {k: v[None] for k, v in t.items()} | {"mask": np.ones((1, 150), np.float32)}
  outputs = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in batch.items() if k != "mask"}
  weights = tiny_config("/tmp", **{"model.pedal": True}).loss
  got = {o: objectives.losses(outputs, batch, o, weights) for o in heads.OBJECTIVES}
  for term, like in (("onset", "regression"), ("offset", "classification"), ("release", "classification")):
    np.testing.assert_allclose(got["hybrid"][term], got[like][term], rtol=1e-6)
    assert abs(float(got["regression"][term]) - float(got["classification"][term])) > 1e-3  # (the terms differ)

  # the pedal: regression's onset (press) term with classification's offset (release) term
  def without(o, name):  # the pedal loss less one event term
    term = objectives._bce(outputs[name], batch[name], weights.event_pos_weight)
    return got[o]["pedal"] - float(objectives._masked_mean(term, batch["mask"]))

  np.testing.assert_allclose(without("hybrid", "pedal_offset"), without("regression", "pedal_offset_reg"), rtol=1e-5)


def test_pedal_f1_matches_a_hand_count():
  # Reference: three presses. Estimate: the first right (onset and offset within tolerance), the second with a
  # right onset and an offset 0.5 s late, the third missed, and one false press.
  ref = seq(pedal=((1.0, 2.0, 3.0, 4.0, 5.0, 6.0), (127, 0, 127, 0, 127, 0)))
  est = seq(pedal=((1.02, 1.99, 3.03, 4.5, 7.0, 7.5), (127, 0, 127, 0, 127, 0)))
  m = metrics.pedal_metrics(ref, est, duration=8.0, frame_rate=100.0)
  # onsets: 2 hits of 3 references and 3 estimates -> P = R = 2/3; onset+offset: 1 hit -> P = R = 1/3
  assert m["pedal_onset_f1"] == pytest.approx(2 / 3)
  assert m["pedal_onset_offset_f1"] == pytest.approx(1 / 3)
  # frames (10 ms): reference down 300; estimate down 97 + 147 + 50 = 294, of which 97 + 97 inside the reference
  precision, recall = 194 / 294, 194 / 300
  assert m["pedal_frame_f1"] == pytest.approx(2 * precision * recall / (precision + recall))
  assert metrics.pedal_metrics(seq(), est, 8.0, 100.0) == {}  # no pedal to find: not counted in a mean
  assert metrics.average([m, {}])["pedal_onset_f1"] == pytest.approx(2 / 3)


def test_velocity_error_counts_matched_onsets_in_midi_units():
  ref = seq((60, 0.0, 0.5, 100), (64, 1.0, 1.5, 40), (67, 2.0, 2.5, 80))
  est = seq((60, 0.01, 0.3, 90), (64, 1.02, 1.2, 60), (72, 2.0, 2.5, 80))  # the third is another pitch
  assert metrics.velocity_error(ref, est)["velocity_mae"] == pytest.approx((10 + 20) / 2)


def test_cc64_round_trips_through_the_midi_file(tmp_path):
  found = decoding.decode_all(_targets_as_outputs(SUSTAINED), RATE, "regression", SETTINGS)
  path = tmp_path / "t.mid"
  notes.write_midi(found.released, path)
  back = notes.read_midi(path)
  np.testing.assert_allclose(back.pedal_time, [0.4, 1.6], atol=2e-3)
  np.testing.assert_allclose(back.pedal_offsets(), [1.6, 2.4], atol=2e-3)  # plays back as it sounded
  np.testing.assert_allclose(back.offset, [0.6, 2.4], atol=2e-3)


def test_a_pedal_down_from_the_first_frame_starts_at_zero():
  probs = _targets_as_outputs(seq((60, 0.2, 0.6, 90), pedal=((0.0, 1.0), (127, 0))))
  probs["pedal_onset_reg"][:2, 0] = (1.0, 0.9)  # the triangle's fit points before the first frame
  found = decoding.decode_all(probs, RATE, "regression", SETTINGS)
  assert found.released.pedal_time[0] == 0.0
  metrics.pedal_metrics(found.released, found.released, 3.0, RATE)  # (mir_eval refuses negative times)


def test_the_default_pedal_loss_does_not_take_over_the_shared_network():
  """At initialisation, the gradient the weighted pedal terms send into the DenseNet is smaller than the onset
  term's with configs/default.py's weights, and larger at the old weight (0.5), which took the small ablation
  model's onset F1 from 64 to 15: the pedal's BCE is per frame, the notes' per frame and key."""
  import jax
  import jax.numpy as jnp

  from configs import default
  from pianojax import models, objectives, state

  config = tiny_config("/tmp", **{"model.pedal": True, "objective": "regression"})
  model = models.build(config)
  variables = state.initial_variables(model, config, jax.random.key(0))
  frames = config.data.segment_frames
  rate = config.frontend.sample_rate / config.frontend.hop_length
  piece = seq(*[(48 + 3 * i, 0.1 + 0.2 * i, 0.5 + 0.2 * i, 80) for i in range(12)], pedal=((0.3, 2.0), (127, 0)))
  batch = labels.frame_targets(labels.with_offsets(piece, "pedal"), frames, rate, regression_frames=5, key_notes=piece)
  batch = {k: jnp.asarray(np.stack([v, v])) for k, v in batch.items()}
  batch["mask"] = jnp.ones((2, frames))
  audio = 0.1 * np.random.default_rng(0).standard_normal((2, frames * config.frontend.hop_length)).astype(np.float32)

  @jax.jit
  def trunk_grad_norms(params):  # (one program for both terms)
    def norm(term):
      def loss(params):
        out, _ = model.apply({**variables, "params": params}, audio, train=True, mutable=["batch_stats"])
        return objectives.losses(out, batch, config.objective, default.get_config().loss)[term]

      grads = jax.grad(loss)(params)["DenseNet_0"]
      return jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grads)))

    return norm("onset"), norm("pedal")

  onset_norm, pedal_norm = (float(n) for n in trunk_grad_norms(variables["params"]))
  weights = default.get_config().loss
  onset = weights.onset_weight * onset_norm  # (the gradient of weight x term is weight x the term's gradient)
  assert weights.pedal_weight * pedal_norm < 0.5 * onset
  assert 0.5 * pedal_norm > onset
