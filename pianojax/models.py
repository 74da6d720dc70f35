"""The transcriber: jitted frontend -> Flax DenseNet over (time x frequency) -> temporal context -> heads.

One module takes raw audio (or precomputed features) and returns per-frame logits for the
88 keys, so training, evaluation and inference share one forward pass. Pooling happens
along frequency only: the frame rate of the output equals the frontend's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from pianojax import augment, framing, frontend, heads, separation
from pianojax.layers import BatchNormReLU, pointwise_conv, pool_freq
from pianojax.notes import NUM_KEYS
from pianojax.separation import Separator

HEADS = {o: heads.of(o).notes for o in heads.OBJECTIVES}
# With `pedal`: where each key is let go, and the sustain pedal (one output per frame, not per key).
RELEASE_HEADS = {o: heads.of(o).release for o in heads.OBJECTIVES}
PEDAL_HEADS = {o: heads.of(o).pedal for o in heads.OBJECTIVES}


# The heads that read the shared context when the note ends have their own (`Transcriber.end_context`), and the
# parameters `train.freeze=notes` keeps fixed: the network up to the shared context and the onset heads (the
# velocity head, which reads the same context, still learns: it cannot move an onset).
END_CONTEXT = "end_context"
ONSET_HEADS = ("onset", "onset_reg", "velocity")
NOTE_MODULES = ("DenseNet_0", "TemporalContext_0", "head_onset", "head_onset_reg")
# The sustain-pedal heads' own context (`Transcriber.pedal_context`): with `train.freeze=all_but_pedal` it and the
# pedal heads are all that trains (`pedal_modules`), so no note, end or key-release output moves.
PEDAL_CONTEXT = "pedal_context"


def pedal_modules(objective: str) -> tuple[str, ...]:
  """The parameters `train.freeze=all_but_pedal` trains: the pedal context and the pedal heads."""
  return (PEDAL_CONTEXT, *(f"head_{name}" for name in PEDAL_HEADS[objective]))


# The other instruments' onsets (`Transcriber.others_head`): an output and a target of device synthesis, not a
# transcription head.
OTHERS_HEAD = "other_onset"

# Log features (about -11.5 for silence to +5) scaled into the range of the hidden features for the velocity head.
LEVEL_SCALE = 0.1


def head_names(objective: str, pedal: bool) -> tuple[str, ...]:
  """The outputs of a model: its note heads, then (with `pedal`) the key-release and pedal heads."""
  return HEADS[objective] + ((RELEASE_HEADS[objective] + PEDAL_HEADS[objective]) if pedal else ())


@dataclasses.dataclass(frozen=True)
class MaskSpec:
  time_masks: int = 0
  time_width: int = 0
  freq_masks: int = 0
  freq_width: int = 0


class DenseLayer(nn.Module):
  """BN-ReLU-1x1 conv (bottleneck) -> BN-ReLU-3x3 conv, output concatenated to the input."""

  growth: int
  bottleneck: int
  dropout: float
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x, train: bool):
    def norm(y, i):
      return BatchNormReLU(not train, dtype=self.dtype, name=f"BatchNorm_{i}")(y)

    y = x
    if self.bottleneck:
      y = nn.Conv(
        self.bottleneck * self.growth, (1, 1), use_bias=False, dtype=self.dtype, conv_general_dilated=pointwise_conv
      )(norm(y, 0))
    y = nn.Conv(self.growth, (3, 3), use_bias=False, dtype=self.dtype)(norm(y, int(bool(self.bottleneck))))
    if self.dropout:
      y = nn.Dropout(self.dropout, deterministic=not train)(y)
    return jnp.concatenate([x, y], axis=-1)


class Transition(nn.Module):
  """BN-ReLU-1x1 conv with compression, then average pooling by 2 along frequency only."""

  channels: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x, train: bool):
    x = BatchNormReLU(not train, dtype=self.dtype, name="BatchNorm_0")(x)
    x = nn.Conv(self.channels, (1, 1), use_bias=False, dtype=self.dtype, conv_general_dilated=pointwise_conv)(x)
    return pool_freq(x, 2, "mean")


class DenseNet(nn.Module):
  """DenseNet over `(batch, time, freq, 1)`; returns `(batch, time, features)`."""

  stem_channels: int = 32
  stem_freq_stride: int = 2
  block_layers: Sequence[int] = (4, 4, 4)
  growth: int = 32
  bottleneck: int = 4
  compression: float = 0.5
  dropout: float = 0.0
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool):
    x = nn.Conv(self.stem_channels, (3, 3), use_bias=False, dtype=self.dtype)(x)
    if self.stem_freq_stride > 1:  # shrink the frequency axis early: most of the FLOPs live there
      x = pool_freq(x, self.stem_freq_stride, "max")
    for i, layers in enumerate(self.block_layers):
      for _ in range(layers):
        x = DenseLayer(self.growth, self.bottleneck, self.dropout, self.dtype)(x, train)
      if i < len(self.block_layers) - 1:
        x = Transition(max(1, int(x.shape[-1] * self.compression)), self.dtype)(x, train)
    x = BatchNormReLU(not train, dtype=self.dtype, name="BatchNorm_0")(x)
    b, t, f, c = x.shape
    return x.reshape(b, t, f * c)


class TemporalContext(nn.Module):
  """Context along time: a BiGRU, or residual dilated 1-D convolutions."""

  kind: str = "conv"  # none | conv | bigru
  width: int = 256
  dilations: Sequence[int] = (1, 2, 4, 8)
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool):
    x = nn.Dense(self.width, dtype=self.dtype)(x)
    if self.kind == "none":
      return nn.relu(x)
    if self.kind == "bigru":
      x = nn.Bidirectional(nn.RNN(nn.GRUCell(self.width // 2)), nn.RNN(nn.GRUCell(self.width // 2)))(x)
      return x.astype(self.dtype)
    if self.kind != "conv":
      raise ValueError(f"unknown context {self.kind!r}")
    for d in self.dilations:
      y = nn.LayerNorm(dtype=self.dtype)(x)
      y = nn.Conv(self.width, (3,), kernel_dilation=(d,), dtype=self.dtype)(nn.gelu(y))
      x = x + y
    return nn.gelu(nn.LayerNorm(dtype=self.dtype)(x))


class Transcriber(nn.Module):
  """Audio `(batch, samples)` (or features `(batch, frames, bins)`) -> logits per head `(batch, frames, 88)`.

  Attributes:
    spec: frontend settings.
    num_frames: frames per example the network sees (the frontend's extra last frame is dropped).
    objective: "classification", "regression" or "hybrid" (which heads exist: `heads.of`).
    velocity_level: the velocity head also sees the frame's features before per-example normalisation, the level
      that normalisation takes away (how loud a note is played is, first of all, how loud it is).
    pedal: also key-release heads (`key_frame`, `key_offset[_reg]`, per key) and sustain-pedal heads
      (`pedal_frame`, `pedal_onset[_reg]`, `pedal_offset[_reg]`, `(batch, frames, 1)`).
    end_context: the note-end heads (frame, offset, key release, pedal) read a temporal context of their own
      (settings as `context`, e.g. longer dilations) instead of sharing the onset heads' (Kong et al. give each head
      its own acoustic model); None: shared.
    frozen_notes: the DenseNet and the shared context run as at inference (batch statistics fixed) with no gradient
      through them: training moves only the note-end branch and the velocity head, so the onsets stay what they
      were (the optimizer must not update those parameters or the onset head either: `NOTE_MODULES`).
    pedal_context: the sustain-pedal heads read a temporal context of their own (settings as `end_context`),
      beside the note-end one, so the pedal can be trained apart from the key releases; None: they read the ends'.
    frozen_ends: the note-end context too runs as at inference with no gradient through it (with `frozen_notes`):
      only the pedal context and heads learn (`pedal_modules`).
    mask: spectrogram masking applied in training (rng stream "augment").
    framing: "frame" (the frontend's frames) or "beat" (features averaged within beat
      intervals, given per call as `beat_ids` from `framing.beat_ids`).
    max_beats: beat intervals per example (static).
    others_head: also `other_onset`, the other instruments' onsets (88 keys) from the onset heads' context, trained
      on the accompaniment of device synthesis and never decoded.
    short_window: 0, or a second input channel beside the features: the same bins at the same frames read through
      a window of this many samples (zero-padded to the FFT size), where a note's start is sharper in time than in
      the frontend's long window (2,048 samples, 128 ms): a hammer's strike against a bow's or a breath's.
    harmonics: more input channels, one per number h: at each bin, the features at h x its frequency
      (`frontend.harmonic_stack`), so the stem's 3x3 kernel at a pitch reads its partials' pattern (a piano's
      stretched partials against a string's or a guitar's) where the features alone put them octaves apart.
    pcen: 0, or one more input channel: the features' power through per-channel energy normalisation
      (`frontend.pcen`) with this time constant in seconds, normalised as the features are: each bin against its
      own recent level, so what holds steady (a held accompaniment note, noise) fades and onsets stand out.
  """

  spec: frontend.FrontendSpec
  num_frames: int
  objective: str = "classification"
  pedal: bool = False
  velocity_level: bool = False
  densenet: dict = dataclasses.field(default_factory=dict)
  context: dict = dataclasses.field(default_factory=dict)
  end_context: dict | None = None
  frozen_notes: bool = False
  pedal_context: dict | None = None
  frozen_ends: bool = False
  mask: MaskSpec = MaskSpec()
  dtype: jnp.dtype = jnp.float32
  framing: str = "frame"
  max_beats: int = 64
  others_head: bool = False
  short_window: int = 0
  harmonics: tuple[float, ...] = ()
  pcen: float = 0.0

  def features(self, inputs):
    """(normalised features, the same before normalisation or None for precomputed inputs), `num_frames` long."""
    if inputs.ndim == 3:
      return inputs[:, : self.num_frames], None
    raw = frontend.features(inputs, dataclasses.replace(self.spec, normalize="none"))[:, : self.num_frames]
    return frontend.normalize(raw, self.spec.normalize), raw

  def short_features(self, inputs):
    """The `short_window` channel of waveform `inputs`, normalised as the features are."""
    if inputs.ndim != 2:
      raise ValueError("model.short_window reads the waveform: it cannot take precomputed features")
    spec = dataclasses.replace(self.spec, win_length=self.short_window)
    return frontend.features(inputs, spec)[:, : self.num_frames]

  @nn.compact
  def __call__(self, inputs, train: bool = False, beat_ids=None, raw=None):
    """Logits per head; `raw`: the compressed features `(batch, frames, bins)` to read instead of computing them
    from `inputs` (the two-stage model's separated spectrogram)."""
    if raw is None:
      x, raw = self.features(inputs)
    else:
      x = frontend.normalize(raw, self.spec.normalize)
    if self.framing == "beat":
      if self.short_window:
        raise ValueError("model.short_window is for framing 'frame'")
      if beat_ids is None:
        raise ValueError("framing 'beat' needs beat_ids (framing.beat_ids) for every example")
      x = framing.beat_broadcast(x, beat_ids[:, : x.shape[1]], self.max_beats)
    elif self.framing != "frame":
      raise ValueError(f"unknown framing {self.framing!r}")
    channels = [x, self.short_features(inputs)] if self.short_window else [x]
    if self.pcen:
      if raw is None or self.framing != "frame":
        raise ValueError("model.pcen reads the features' power: frame framing, from the waveform")
      channels.append(frontend.normalize(frontend.pcen(raw, self.spec.frame_rate, self.pcen), self.spec.normalize))
    if train and (self.mask.time_masks or self.mask.freq_masks):
      key = self.make_rng("augment")  # one key: every channel masked in the same places
      channels = [augment.spec_mask(c, key, **dataclasses.asdict(self.mask)) for c in channels]
    x = jnp.stack(channels, axis=-1)
    if self.harmonics:  # (of the masked features: a band masked out is missing from every view of it)
      x = jnp.concatenate([x, frontend.harmonic_stack(x[..., 0], self.spec, self.harmonics)], axis=-1)
    x = x.astype(self.dtype)
    trunk_train = train and not self.frozen_notes
    x = DenseNet(dtype=self.dtype, **self.densenet)(x, trunk_train)
    h = TemporalContext(dtype=self.dtype, **self.context)(x, trunk_train)
    if self.frozen_notes:
      x, h = jax.lax.stop_gradient(x), jax.lax.stop_gradient(h)
    ends = h
    if self.end_context is not None:
      ends = TemporalContext(dtype=self.dtype, name=END_CONTEXT, **self.end_context)(x, train and not self.frozen_ends)
    if self.frozen_ends:
      ends = jax.lax.stop_gradient(ends)
    pedal_in = ends
    if self.pedal and self.pedal_context is not None:
      pedal_in = TemporalContext(dtype=self.dtype, name=PEDAL_CONTEXT, **self.pedal_context)(x, train)
    out = {}
    names = HEADS[self.objective]
    for name in names:
      if name == "frame":
        continue
      seen = h if name in ONSET_HEADS else ends
      if name == "velocity" and self.velocity_level:
        if raw is None:
          raise ValueError("model.velocity_level needs audio inputs (the features before normalisation)")
        seen = jnp.concatenate([h, LEVEL_SCALE * jax.lax.stop_gradient(raw).astype(self.dtype)], axis=-1)
      out[name] = nn.Dense(NUM_KEYS, dtype=self.dtype, name=f"head_{name}")(seen)
    # The frame head sees the event heads' beliefs (as in Onsets and Frames / Kong et al.).
    events = [jax.nn.sigmoid(jax.lax.stop_gradient(out[n])) for n in names[:2]]
    out["frame"] = nn.Dense(NUM_KEYS, dtype=self.dtype, name="head_frame")(jnp.concatenate([ends, *events], axis=-1))
    if self.pedal:
      out.update(self._release_and_pedal(ends, out, pedal_in))
    if self.others_head:
      out[OTHERS_HEAD] = nn.Dense(NUM_KEYS, dtype=self.dtype, name=f"head_{OTHERS_HEAD}")(h)
    return {k: v.astype(jnp.float32) for k, v in out.items()}

  def _release_and_pedal(self, h, notes: dict, pedal_h) -> dict:
    """Key-release heads on `h` (the frame head of a key seeing its onset and release beliefs, as the note heads do)
    and sustain-pedal heads on `pedal_h` (one output per frame, the frame head seeing the pedal's onset and offset
    beliefs)."""
    release, key_frame = RELEASE_HEADS[self.objective]
    out = {release: nn.Dense(NUM_KEYS, dtype=self.dtype, name=f"head_{release}")(h)}
    seen = [jax.nn.sigmoid(jax.lax.stop_gradient(x)) for x in (notes[HEADS[self.objective][0]], out[release])]
    out[key_frame] = nn.Dense(NUM_KEYS, dtype=self.dtype, name=f"head_{key_frame}")(jnp.concatenate([h, *seen], -1))
    down, up, frame = PEDAL_HEADS[self.objective]
    for name in (down, up):
      out[name] = nn.Dense(1, dtype=self.dtype, name=f"head_{name}")(pedal_h)
    seen = [jax.nn.sigmoid(jax.lax.stop_gradient(out[n])) for n in (down, up)]
    out[frame] = nn.Dense(1, dtype=self.dtype, name=f"head_{frame}")(jnp.concatenate([pedal_h, *seen], axis=-1))
    return out


class TwoStage(nn.Module):
  """Stage 1 (`separation.Separator`: the mixture's spectrogram -> a mask -> the clean piano's spectrogram), then
  stage 2 (a `Transcriber` reading the separated spectrogram). At inference and in evaluation it is a transcriber
  like any other: audio in, logits per head out.

  Attributes:
    transcriber: stage 2 (its frontend settings are the grid stage 1 works on).
    separator: `separation.Separator`'s settings.
    train_part: what a training call trains: "separator" (stage 1 alone, against the clean spectrogram; stage 2
      is not run), "transcriber" (stage 2 alone; stage 1 runs in inference mode, its output a constant) or
      "joint" (both, the transcription loss flowing back through stage 1).
    transcriber_input: what stage 2 reads in training: "separated" (stage 1's output) or "clean" (the clean
      piano's spectrogram: the notes' "train the transcriber on clean piano"); always the separated one at
      inference.
  """

  transcriber: Transcriber
  separator: dict = dataclasses.field(default_factory=dict)
  train_part: str = "joint"
  transcriber_input: str = "separated"
  dtype: jnp.dtype = jnp.float32

  def setup(self):
    self.stage1 = Separator(dtype=self.dtype, name="separator", **self.separator)

  @property
  def num_frames(self) -> int:
    return self.transcriber.num_frames

  def separate(self, audio, train: bool = False):
    """(the mixture's power on the frontend's grid, stage 1's mask logits), both `(batch, frames, bins)`."""
    if audio.ndim != 2:
      raise ValueError("the two-stage model reads audio (batch, samples), not precomputed features")
    spec = self.transcriber.spec
    power = separation.grid_power(audio, spec, self.num_frames)
    return power, self.stage1(separation.features_of(power, spec), train)

  def mask(self, audio):
    """Stage 1's mask in [0, 1] on the frontend's grid (`--mode=separate`)."""
    return {"mask": jax.nn.sigmoid(self.separate(audio)[1])}

  def __call__(self, inputs, train: bool = False, beat_ids=None, clean=None):
    """Logits per head; in training with `clean` (the piano stem's audio) also `sep_logits`, `sep_mix` and
    `sep_clean` (grid power) for the separation loss."""
    spec = self.transcriber.spec
    part = self.train_part if train else "joint"
    if part not in ("separator", "transcriber", "joint"):
      raise ValueError(f"unknown two-stage train part {part!r}: separator, transcriber or joint")
    mix, logits = self.separate(inputs, train=train and part != "transcriber")
    out = {}
    clean_power = None
    if train and clean is not None:
      clean_power = separation.grid_power(clean, spec, self.num_frames)
      out.update(sep_logits=logits, sep_mix=mix, sep_clean=clean_power)
    if part == "separator":
      return out
    feed = jax.nn.sigmoid(logits) * mix
    if train and self.transcriber_input == "clean":
      if clean_power is None:
        raise ValueError("two-stage transcriber_input=clean needs the clean piano stem in training")
      feed = clean_power
    if part != "joint":
      feed = jax.lax.stop_gradient(feed)
    out.update(self.transcriber(inputs, train=train, beat_ids=beat_ids, raw=frontend.compress(feed, spec)))
    return out


def build(config) -> Transcriber | TwoStage:
  """The model described by `config` (sections frontend, data, model, objective; `separation` for two stages)."""
  transcriber = _transcriber(config)
  stages = config.model.get("stages", 1)
  if stages == 1:
    return transcriber
  if stages != 2:
    raise ValueError(f"model.stages must be 1 or 2, not {stages}")
  s, sep = config.model.separator, config.separation
  return TwoStage(
    transcriber=transcriber,
    separator={"channels": s.channels, "levels": s.levels, "layers": s.layers, "growth": s.growth},
    train_part=sep.train,
    transcriber_input=sep.transcriber_input,
    dtype=transcriber.dtype,
  )


def _transcriber(config) -> Transcriber:
  m = config.model
  dtype = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}[m.dtype]
  aug = config.data.augment
  branch = {"kind": m.context, "width": m.context_width, "dilations": tuple(m.end_dilations)}  # note ends, pedal
  return Transcriber(
    spec=frontend.FrontendSpec.from_config(config.frontend),
    num_frames=config.data.segment_frames,
    objective=config.objective,
    pedal=config.model.pedal,
    velocity_level=config.model.velocity_level,
    densenet={
      "stem_channels": m.stem_channels,
      "stem_freq_stride": m.stem_freq_stride,
      "block_layers": tuple(m.block_layers),
      "growth": m.growth,
      "bottleneck": m.bottleneck,
      "compression": m.compression,
      "dropout": m.dropout,
    },
    context={"kind": m.context, "width": m.context_width, "dilations": tuple(m.context_dilations)},
    end_context=branch if m.end_context else None,
    frozen_notes=config.train.freeze in ("notes", "all_but_pedal"),
    pedal_context=branch if m.get("pedal_context", False) else None,
    frozen_ends=config.train.freeze == "all_but_pedal",
    mask=MaskSpec(aug.spec_time_masks, aug.spec_time_width, aug.spec_freq_masks, aug.spec_freq_width),
    dtype=dtype,
    framing=config.frontend.framing,
    max_beats=config.frontend.max_beats,
    others_head=bool(m.get("others_head", False)),
    short_window=int(m.get("short_window", 0)),
    harmonics=tuple(float(h) for h in m.get("harmonics", ())),
    pcen=float(m.get("pcen", 0.0)),
  )


def dummy_beat_ids(batch: int, num_frames: int) -> jnp.ndarray:
  """One interval per example: shapes for init and FLOP counting (ignored by frame framing)."""
  return jnp.zeros((batch, num_frames), jnp.int32)


def count_flops(model: Transcriber, variables, inputs_shape) -> dict[str, float]:
  """Forward FLOPs of one call, counted from the shapes of every conv and dense layer.

  (XLA's cost analysis on GPU leaves out cuDNN convolutions, so we count by hand:
  2 x output positions x Cin x Cout x kernel area per conv; FFT and elementwise work is
  not counted.) Returns totals for "conv", "dense" and "total".
  """
  counts = {"conv": 0.0, "dense": 0.0}

  def interceptor(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    mod = context.module
    if context.method_name == "__call__" and isinstance(mod, nn.Conv | nn.Dense):
      x = args[0]
      cin = x.shape[-1]
      if isinstance(mod, nn.Conv):
        k = 1
        for s in mod.kernel_size:
          k *= s
        positions = out.size // out.shape[-1]
        counts["conv"] += 2.0 * positions * cin * out.shape[-1] * k
      else:
        counts["dense"] += 2.0 * (out.size // out.shape[-1]) * cin * out.shape[-1]
    return out

  with nn.intercept_methods(interceptor):
    jax.eval_shape(
      lambda v, x: model.apply(v, x, train=False, beat_ids=dummy_beat_ids(inputs_shape[0], model.num_frames)),
      variables,
      jax.ShapeDtypeStruct(inputs_shape, jnp.float32),
    )
  counts["total"] = counts["conv"] + counts["dense"]
  return counts
