"""Losses for the objectives (`config.objective`, heads.py), as pure functions of (outputs, batch).

- classification: weighted binary cross-entropy on onset / offset / frame rolls; velocity
  regressed (BCE against velocity / 127) at onset frames only.
- regression: BCE against the continuous onset/offset triangles (Kong et al.), with the
  same positive-class weight, frame BCE, velocity as above. Decoding recovers sub-frame times from the triangles' peaks.
- hybrid: onsets as regression, offsets as classification (`heads.of`).

With the key-release and pedal heads (`model.pedal`), two more terms: "release" (key-release frame BCE + release
events) and "pedal" (pedal frame BCE + pedal onset and offset events), weighted by `loss.release_weight` and
`loss.pedal_weight`. With `loss.pedalled_releases=False` the release term leaves out the keys let go under the
sustain pedal (`labels` `key_audible`), from just before the release until the note stops sounding: nothing in
the audio says when those keys came up.

With `model.others_head`, one more: "others", the other instruments' onsets as events (device batches carry them),
weighted by `loss.others_weight`, so the shared network learns which onsets in a mixture are not the piano's.
With `loss.others_negative_weight` w, the piano onset head's "no onset" weighs 1 + w x (the other instruments' onset
in the objective's form: an event, or its triangle) there instead: the accompaniment's onsets as hard negatives.

With `loss.clean_teacher` w (trainer.py: the same network, not trained through, reads the piano alone as it sounds
in the mix), one more: "teacher", the KL divergence from the network's own onset, offset and frame probabilities on
the clean piano to those on the mixture (`teacher_loss`), weighted by w: the mixture's outputs pulled towards what
the network hears in the piano alone.

Every loss is averaged over valid frames (`batch["mask"]`), so padded frames of an
evaluation batch count for nothing.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from pianojax import heads, separation

OTHERS = "other_onset"  # models.OTHERS_HEAD: the other instruments' onsets, where a batch knows them


def _bce(logits, targets, pos_weight: float = 1.0, neg_weight=1.0):
  # log(1 + exp(-x)) for positives, weighted; log(1 + exp(x)) for negatives, weighted (a scalar or per element).
  log_p = -jax.nn.softplus(-logits)
  log_not_p = -jax.nn.softplus(logits)
  return -(pos_weight * targets * log_p + neg_weight * (1.0 - targets) * log_not_p)


def _masked_mean(values, mask):
  """Mean over (batch, frames, keys) of `values`, counting frames where mask > 0."""
  return _weighted_mean(values, mask[..., None])


def _weighted_mean(values, weights):
  """Mean of `values` weighted by `weights` (broadcast to their shape), 0 where every weight is 0."""
  weights = weights * jnp.ones_like(values)
  return jnp.sum(values * weights) / jnp.maximum(jnp.sum(weights), 1.0)


def losses(outputs: dict, batch: dict, objective: str, weights) -> dict[str, jnp.ndarray]:
  """Per-term losses and their weighted sum under "total".

  Args:
    outputs: logits per head, `(batch, frames, 88)`.
    batch: targets (see `labels.TARGET_KEYS`) and `mask` `(batch, frames)`.
    objective: "classification", "regression" or "hybrid".
    weights: the `config.loss` section.
  """
  mask = batch["mask"]
  names = heads.of(objective)
  # (The triangles are as rare as the events: the same positive weight keeps their peaks from collapsing.)
  event = lambda name, neg=1.0: _masked_mean(_bce(outputs[name], batch[name], weights.event_pos_weight, neg), mask)  # noqa: E731
  others_neg, near_other = weights.get("others_negative_weight", 0.0), batch.get("other_" + names.onset)
  # The accompaniment's onsets as hard negatives ("other_onset", or its triangles "other_onset_reg").
  onset_neg = 1.0 + others_neg * near_other if others_neg and near_other is not None else 1.0
  terms = {"onset": event(names.onset, onset_neg), "offset": event(names.offset)}
  terms["frame"] = _masked_mean(_bce(outputs["frame"], batch["frame"], weights.frame_pos_weight), mask)
  at_onsets = batch["onset"] * mask[..., None]
  vel = _bce(outputs["velocity"], batch["velocity"]) - _bce_floor(batch["velocity"])
  terms["velocity"] = jnp.sum(vel * at_onsets) / jnp.maximum(jnp.sum(at_onsets), 1.0)
  terms["total"] = (
    weights.onset_weight * terms["onset"]
    + weights.offset_weight * terms["offset"]
    + weights.frame_weight * terms["frame"]
    + weights.velocity_weight * terms["velocity"]
  )
  if "key_frame" in outputs:  # the key-release and sustain-pedal heads (model.pedal)
    terms.update(_release_and_pedal(outputs, batch, objective, weights))
    terms["total"] = terms["total"] + weights.release_weight * terms["release"] + weights.pedal_weight * terms["pedal"]
  if OTHERS in outputs and OTHERS in batch:  # the other instruments' onsets (model.others_head; device batches)
    terms["others"] = _masked_mean(_bce(outputs[OTHERS], batch[OTHERS], weights.event_pos_weight), mask)
    terms["total"] = terms["total"] + weights.others_weight * terms["others"]
  return terms


def teacher_loss(outputs: dict, teacher: dict, mask, objective: str) -> jnp.ndarray:
  """The Bernoulli KL divergence KL(teacher || outputs) of the onset, offset and frame heads (the objective's names),
  summed over the heads, each a mean over the frames where `mask > 0` and the 88 keys: 0 where the two agree.
  `teacher`: logits of the same heads (held fixed by the caller)."""
  names = heads.of(objective)
  total = 0.0
  for name in (names.onset, names.offset, "frame"):
    q = jax.nn.sigmoid(teacher[name])
    total = total + _masked_mean(_bce(outputs[name], q) - _bce_floor(q), mask)
  return total


def model_losses(outputs: dict, batch: dict, config) -> dict[str, jnp.ndarray]:
  """The training loss of the model `config` describes: `losses` for a transcriber; for a two-stage model
  (`model.stages=2`) the separation loss (`separation`, when the model returned stage 1's outputs) and the
  transcription loss as `separation.train` says (separator: the first alone; transcriber: the second alone;
  joint: their sum, the separation loss weighted by `separation.weight`)."""
  if config.model.stages != 2:
    return losses(outputs, batch, config.objective, config.loss)
  st = config.separation
  terms = {}
  if "sep_logits" in outputs:
    terms["separation"] = separation.loss(
      st.loss, outputs["sep_logits"], outputs["sep_mix"], outputs["sep_clean"], batch["mask"], floor=st.floor
    )
  if st.train == "separator":
    terms["total"] = terms["separation"]
    return terms
  terms.update(losses(outputs, batch, config.objective, config.loss))
  if st.train == "joint" and "separation" in terms:
    terms["total"] = terms["total"] + st.weight * terms["separation"]
  return terms


def _release_and_pedal(outputs: dict, batch: dict, objective: str, weights) -> dict[str, jnp.ndarray]:
  """Key release: frame BCE + release events (as the note offsets); pedal: frame BCE + onset and offset events,
  each in the objective's form (events or triangles)."""
  mask = batch["mask"]
  names = heads.of(objective)
  event = lambda name: _masked_mean(_bce(outputs[name], batch[name], weights.event_pos_weight), mask)  # noqa: E731
  keys = mask[..., None] * (1.0 if weights.pedalled_releases else batch["key_audible"])
  release = _weighted_mean(_bce(outputs["key_frame"], batch["key_frame"], weights.frame_pos_weight), keys)
  key_offset = _bce(outputs[names.key_offset], batch[names.key_offset], weights.event_pos_weight)
  release_event = _weighted_mean(key_offset, keys)
  pedal = _masked_mean(_bce(outputs["pedal_frame"], batch["pedal_frame"]), mask)
  return {
    "release": release + release_event,
    "pedal": pedal + event(names.pedal_onset) + event(names.pedal_offset),
  }


def _bce_floor(targets):
  """Entropy of soft targets: the least BCE can be, subtracted so a perfect velocity scores 0."""
  t = jnp.clip(targets, 1e-6, 1 - 1e-6)
  return -(t * jnp.log(t) + (1 - t) * jnp.log(1 - t))
