"""Training batches synthesised on the device: material + sample banks + variety -> audio and frame targets.

`DeviceSynth.batch(key)` is one jit-able function of a key: for every example it draws a material (isolated notes,
chords, random piano sequences, a window of a real performance; sometimes with other instruments and noise, or other
instruments alone), a piano (or two) and how it sounds (synth/variety.py), plays the notes from the sample banks
(synth/playback.py), and computes the frame targets of the same notes (synth/targets.py). Nothing is read from disk
after start-up, and only jax + numpy are imported: the same code runs on the CPU and on a GPU host with nothing else
installed. `assets`/`from_config` load the banks and the packed performances that `--mode=build_data` wrote.
"""

from __future__ import annotations

import dataclasses
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pianojax.errors import UserError
from pianojax.notes import MIN_PITCH, NUM_KEYS
from pianojax.synth import banks as banks_lib
from pianojax.synth import events as events_lib
from pianojax.synth import generators, performances, playback, targets, variety
from pianojax.synth.events import Events

MATERIALS = ("notes", "chords", "sequences", "performances")
OTHER_PARTS = 2
OTHER_NOTES = 48  # per part
PEDAL_INTERVALS = 16


@dataclasses.dataclass(frozen=True)
class Assets:
  """What the synthesiser plays from (host NumPy arrays)."""

  pianos: list[banks_lib.Bank]
  others: list[banks_lib.Bank]
  others_ranges: np.ndarray  # (others, 2) playable pitch range of each accompaniment bank
  table: performances.Table | None  # packed training-split performances (None: no MIDI folder)

  @property
  def nbytes(self) -> int:
    table = 0 if self.table is None else sum(x.nbytes for x in self.table)
    return sum(b.nbytes for b in self.pianos + self.others) + table


def table_path(config) -> str:
  """Where the packed performances are: `data.device.performances` if set (a file `build_data` wrote, e.g. carried
  to a GPU host without the MIDI folder), else in `assets_dir`, named by `data.synth.midi_dir` ("" if neither)."""
  import hashlib

  dev = config.data.device
  if dev.performances:
    return dev.performances
  if not config.data.synth.midi_dir:
    return ""
  midi = os.path.abspath(config.data.synth.midi_dir)
  digest = hashlib.sha1(f"{midi}|{performances.TICKS_PER_SECOND}|{performances.KEY_BITS}".encode()).hexdigest()[:8]
  return os.path.join(dev.assets_dir, f"performances-train-{digest}.npz")


def build_assets(config, log=print) -> None:
  """Records the banks and packs the training split's performances (what `from_config` loads); skips what exists."""
  dev, rate = config.data.device, config.frontend.sample_rate
  banks_lib.build(dev.assets_dir, banks_lib.piano_specs(dev) + banks_lib.other_specs(dev), rate, log)
  path = table_path(config)
  if config.data.synth.midi_dir and not os.path.isfile(path):
    table = performances.pack(config.data.synth.midi_dir, "train")
    performances.save(table, path)
    log(
      f"performances: {len(table.piece_seconds)} pieces, {len(table.pitch):,} notes, "
      f"{os.path.getsize(path) / 2**20:.1f} MiB -> {path}"
    )


def load_assets(config) -> Assets:
  dev, rate = config.data.device, config.frontend.sample_rate
  pianos = banks_lib.load_all(dev.assets_dir, banks_lib.piano_specs(dev), rate)
  other_specs = banks_lib.other_specs(dev)
  others = banks_lib.load_all(dev.assets_dir, other_specs, rate)
  path, table = table_path(config), None
  if path:
    if not os.path.isfile(path):
      raise UserError(f"packed performances {path} not found: run --mode=build_data with this config")
    table = performances.load(path)
  ranges = np.array([(spec.low, spec.high) for spec in other_specs], np.float32)
  return Assets(pianos, others, ranges, table)


def _fit(e: Events, n: int, seconds: float) -> tuple[Events, jax.Array]:
  """`e` sorted by onset in exactly `n` note slots (and `PEDAL_INTERVALS` pedal slots), and the time up to which no
  note is missing (where the first note that did not fit begins)."""
  e = events_lib.sort_by_onset(e)
  extra = n - e.num_notes
  complete = jnp.float32(seconds)
  if extra < 0:
    complete = jnp.where(e.valid[n], jnp.clip(e.onset[n], 0.0, seconds), complete)
    e = e._replace(**{f: getattr(e, f)[:n] for f in ("pitch", "onset", "offset", "velocity", "valid")})
  else:
    note = lambda x, fill=0: jnp.concatenate([x, jnp.full((extra,), fill, x.dtype)])  # noqa: E731
    e = e._replace(
      pitch=note(e.pitch, 21),
      onset=note(e.onset, 1e4),
      offset=note(e.offset, 1e4),
      velocity=note(e.velocity),
      valid=note(e.valid),
    )
  m = PEDAL_INTERVALS - e.pedal_down.shape[0]
  ped = lambda x: jnp.concatenate([x, jnp.zeros((m,), x.dtype)])  # noqa: E731
  return e._replace(pedal_down=ped(e.pedal_down), pedal_up=ped(e.pedal_up), pedal_valid=ped(e.pedal_valid)), complete


class Knobs(NamedTuple):
  """The settings that change no array shape, passed as values: changing them (a curriculum over the material
  weights, variety on or off) reuses the compiled batch function."""

  weights: jax.Array  # (len(MATERIALS),) sampling weight of each material, normalised
  others_prob: jax.Array
  alone_prob: jax.Array
  variety_on: jax.Array  # bool
  pair_budget: jax.Array  # int32: (note, block) pairs per example on average, at most data.device.max_pairs


class Arrays(NamedTuple):
  """What a batch is made from, passed to the jitted function as arguments."""

  piano_flat: jax.Array  # stacked piano banks' samples, flattened
  piano_pitches: jax.Array
  piano_velocities: jax.Array
  other_flat: jax.Array
  other_pitches: jax.Array
  other_velocities: jax.Array
  other_ranges: jax.Array
  table: performances.Table | None
  noise: tuple[jax.Array, jax.Array]
  knobs: Knobs


class DeviceSynth:
  """Batches of synthetic training examples from a key (see the module docstring).

  Args:
    config: the full config (frontend, data, model.pedal).
    assets: banks and performances (`load_assets`).
  """

  def __init__(self, config, assets: Assets):
    dev = config.data.device
    if config.frontend.framing == "beat":
      raise UserError("data.source=device cannot frame by beats (frontend.framing=beat needs the host pipeline)")
    self.dev = dev
    self.rate = config.frontend.sample_rate
    self.num_samples = config.data.segment_frames * config.frontend.hop_length
    self.num_frames = config.data.segment_frames
    self.frame_rate = self.rate / config.frontend.hop_length
    self.seconds = self.num_samples / self.rate
    self.regression_frames = config.data.regression_frames
    self.offset_mode = config.data.offset_mode
    self.release_and_pedal = bool(config.model.pedal)
    self.others_eq = float(dev.get("others_eq", 0.0))  # share of examples whose other instruments get their own EQ
    self.others_coupled = float(dev.get("others_coupled", 0.0))  # share whose other instruments follow the piano
    self.others_following = float(dev.get("others_following", 0.0))  # ... as ensembles play (else doubling it)
    self.others_db = tuple(float(x) for x in dev.get("others_db", (-12.0, 3.0)))  # their level against the piano
    # The other instruments' onsets as labels: for model.others_head and loss.others_negative_weight.
    self.others_targets = bool(config.model.get("others_head", False) or config.loss.get("others_negative_weight", 0))
    weights = dict(zip(dev.materials, dev.material_weights, strict=True))
    unknown = set(weights) - set(MATERIALS)
    if unknown:
      raise UserError(f"data.device.materials: unknown {sorted(unknown)}; choose from {', '.join(MATERIALS)}")
    if assets.table is None:  # no MIDI folder: random sequences instead, as the rendered datasets do
      weights["sequences"] = weights.get("sequences", 0.0) + weights.pop("performances", 0.0)
    weights = np.asarray([weights.get(m, 0.0) for m in MATERIALS], np.float32)
    if not weights.sum() > 0:
      raise UserError("data.device.material_weights: nothing to generate")
    piano, piano_pitches, piano_velocities = banks_lib.stack(assets.pianos)
    other, other_pitches, other_velocities = banks_lib.stack(assets.others)
    self.piano_length, self.other_length = piano.shape[-1], other.shape[-1]
    self.num_pianos, self.num_others = len(assets.pianos), len(assets.others)
    self.num_performances = 0 if assets.table is None else len(assets.table.piece_seconds)
    # Arguments of the jitted batch function, not constants closed over (those would be baked into the program)
    self.arrays = Arrays(
      piano.reshape(-1),
      piano_pitches,
      piano_velocities,
      other.reshape(-1),
      other_pitches,
      other_velocities,
      np.asarray(assets.others_ranges),
      assets.table,
      variety.noise_tables(self.rate),
      Knobs(
        weights / weights.sum(),
        np.float32(dev.others_prob),
        np.float32(dev.alone_prob),
        np.bool_(dev.variety_on),
        np.int32(dev.max_pairs),
      ),
    )
    self.lookback = max(b.samples.shape[-1] for b in assets.pianos) / self.rate

  # -- one example's material ---------------------------------------------------------------------------------------
  def _material(self, a: Arrays, key):
    """(piano events sorted by onset, their sounding ends, complete-until time, kind index)."""
    n, seconds = self.dev.max_notes, self.seconds
    kk, k0, k1, k2, k3, kc = jax.random.split(key, 6)
    kind = jax.random.choice(kk, len(MATERIALS), p=a.knobs.weights)
    sets = generators.chord_sets(kc)  # shared by chords and sequences (one material is kept)
    made = [
      _fit(generators.single_notes(k0, seconds), n, seconds),
      _fit(generators.chords(k1, seconds, sets), n, seconds),
      _fit(generators.sequences(k2, seconds, sets=sets), n, seconds),
    ]
    pick = lambda *xs: jnp.select([kind == i for i in range(len(xs) - 1)], list(xs[:-1]), xs[-1])  # noqa: E731
    events, complete = jax.tree.map(pick, *made)
    ring = events_lib.sounding(events)
    if a.table is not None:
      w = performances.window(a.table, k3, seconds, self.lookback, num_notes=n, num_intervals=PEDAL_INTERVALS)
      is_performance = kind == MATERIALS.index("performances")
      events, ring, complete = jax.tree.map(
        lambda x, y: jnp.where(is_performance, x, y), (w.events, w.sounding, w.complete_until), (events, ring, complete)
      )
    return events, ring, complete, kind

  def _others(self, a: Arrays, key, piano: Events, ring, coupled):
    """`OTHER_PARTS` parts, each played by a random accompaniment bank: (events, bank per note). Each is a melody
    line of its own, or where `coupled` (`data.device.others_coupled`) plays along with `piano`:
    `generators.following` (the share `data.device.others_following` of those parts) or `generators.doubling`."""
    parts, owners = [], []
    for i, k in enumerate(jax.random.split(key, OTHER_PARTS)):
      kb, km = jax.random.split(k)
      b = jax.random.randint(kb, (), 0, a.other_ranges.shape[0])
      low, high = a.other_ranges[b].astype(jnp.int32)
      e = generators.melody(km, self.seconds, low, high, (0.7, 3.0), count=OTHER_NOTES)
      if self.others_coupled:  # a key folded from the part's: the melody's draws stay what they were
        kd = jax.random.fold_in(km, 1)
        d = generators.doubling(kd, piano, ring, low, high, seconds=self.seconds, count=OTHER_NOTES)
        if self.others_following:
          kf, ku = jax.random.split(jax.random.fold_in(km, 2))
          f = generators.following(kf, piano, ring, low, high, seconds=self.seconds, count=OTHER_NOTES)
          follow = jax.random.uniform(ku) < self.others_following
          d = jax.tree.map(lambda x, y, use=follow: jnp.where(use, x, y), f, d)
        e = jax.tree.map(lambda x, y: jnp.where(coupled, x, y), d, e)
      parts.append(e._replace(valid=e.valid & (i == 0) | e.valid & jax.random.bernoulli(kb)))
      owners.append(jnp.full((OTHER_NOTES,), b))
    return events_lib.concatenate(parts), jnp.concatenate(owners)

  def _example(self, a: Arrays, key):
    dev = self.dev
    km, ko, kv, kmix, kc, kx, kn, ks, kf = jax.random.split(key, 9)
    piano, ring, complete, kind = self._material(a, km)
    played = piano  # the notes as drawn, before `alone` takes them away: coupled parts follow them
    scene = jax.random.uniform(ko)
    alone = scene < a.knobs.alone_prob
    with_others = alone | (scene < a.knobs.alone_prob + a.knobs.others_prob)
    piano = piano._replace(valid=piano.valid & ~alone)
    v = variety.draw(kv, dev.variety, self.num_pianos, a.knobs.variety_on)
    bank = jnp.where(jax.random.uniform(kmix, piano.pitch.shape) < v.mix_b, v.bank_b, v.bank_a)
    voices = playback.voices(
      a.piano_pitches,
      a.piano_velocities,
      self.piano_length,
      bank=bank,
      pitch=piano.pitch,
      onset=piano.onset,
      sounding=ring,
      velocity=piano.velocity,
      valid=piano.valid,
      sample_rate=self.rate,
      velocity_curve=v.velocity_curve,
      cents=variety.cents_of(v, piano.pitch, kc),
    )
    coupled = jax.random.uniform(jax.random.fold_in(kx, 1)) < self.others_coupled
    others, owner = self._others(a, kx, played, ring, coupled)
    others = others._replace(valid=others.valid & with_others)
    if self.others_targets:
      # By onset, as the piano's: playback drops the notes past its budget from the end of the list, so its first
      # dropped note's start is where the labels stop (`other_onsets` in `batch`). Only here: the lists of the
      # recipes measured without this head keep their order, and their batches stay what they were.
      order = events_lib.onset_order(others)
      others, owner = events_lib.take_notes(others, order), owner[order]
    other_voices = playback.voices(
      a.other_pitches,
      a.other_velocities,
      self.other_length,
      bank=owner,
      pitch=others.pitch,
      onset=others.onset,
      sounding=others.offset,
      velocity=others.velocity,
      valid=others.valid,
      sample_rate=self.rate,
    )
    extra = {}
    if self.others_eq:  # the other instruments' own EQ (a key folded from this example's: the other draws stay)
      ke, kon = jax.random.split(jax.random.fold_in(key, 1))
      extra["others_eq"] = variety.draw_eq(ke, dev.variety, jax.random.uniform(kon) < self.others_eq)
    noisy = with_others & ~alone & jax.random.bernoulli(kn, 0.8)
    scene_noise = jnp.where(noisy, jax.random.uniform(ks, minval=0.0, maxval=30.0), jnp.inf)
    mix_db = jax.random.uniform(kf, minval=self.others_db[0], maxval=self.others_db[1])
    return dict(
      piano=piano,
      ring=ring,
      complete=complete,
      kind=kind,
      voices=voices,
      other_voices=other_voices,
      variety=v,
      alone=alone,
      noise_snr_db=scene_noise,
      others_db=mix_db,
      others=others,
      **extra,
    )

  # -- the batch ----------------------------------------------------------------------------------------------------
  def batch(self, a: Arrays, key, batch_size: int, with_clean: bool = False) -> dict[str, jax.Array]:
    """`batch_size` examples: `audio (batch, samples)`, the frame targets `(batch, frames, 88|1)`, `mask`, and each
    example's `kind` and `alone`; `with_clean`: also `clean (batch, samples)`, the piano alone as it sounds in the
    mix (same room, EQ, level; no other instruments, no noise), zeros where other instruments play alone."""
    keys = jax.random.split(key, batch_size)
    ex = jax.vmap(lambda k: self._example(a, k))(keys)
    dev, v = self.dev, ex["variety"]
    piano_audio, dropped_at = playback.play(
      a.piano_flat,
      self.piano_length,
      ex["voices"],
      self.num_samples,
      release_seconds=v.release_seconds,
      sample_rate=self.rate,
      block=dev.block,
      max_pairs=dev.max_pairs,
      pair_budget=a.knobs.pair_budget,
    )
    other_audio, others_dropped_at = playback.play(
      a.other_flat,
      self.other_length,
      ex["other_voices"],
      self.num_samples,
      release_seconds=jnp.full((batch_size,), 0.1),
      sample_rate=self.rate,
      block=dev.block,
      max_pairs=dev.max_pairs // 4,
    )
    first_dropped = jnp.where(dropped_at < self.num_samples, dropped_at / self.rate, jnp.inf)

    def finish(piano_audio, other_audio, k, ex):
      if "others_eq" in ex:
        other_audio = variety.equalize(other_audio, ex["others_eq"], self.rate)
      p_rms = jnp.sqrt(jnp.mean(piano_audio**2))
      o_rms = jnp.sqrt(jnp.mean(other_audio**2)) + 1e-12
      scaled = other_audio * jnp.where(p_rms > 1e-8, p_rms / o_rms * 10 ** (ex["others_db"] / 20), 1.0)
      mix = jnp.where(ex["alone"], other_audio, piano_audio + scaled)
      return variety.finish(
        mix,
        k,
        a.noise,
        ex["variety"],
        sample_rate=self.rate,
        max_rt60=dev.variety.rt60[1],
        noise_snr_db=ex["noise_snr_db"],
        noise_pink=jax.random.uniform(jax.random.fold_in(k, 1)),
        stem=jnp.where(ex["alone"], 0.0, piano_audio) if with_clean else None,
      )

    finished = jax.vmap(finish)(piano_audio, other_audio, jax.random.split(jax.random.fold_in(key, 1), batch_size), ex)
    audio, clean = finished if with_clean else (finished, None)

    def label(piano, ring, complete, first_dropped):
      cut = jnp.minimum(complete, first_dropped)
      piano = piano._replace(valid=piano.valid & (piano.onset < first_dropped))
      train_offset = ring if self.offset_mode == "pedal" else piano.offset
      t = targets.frame_targets(
        piano,
        train_offset,
        self.num_frames,
        self.frame_rate,
        regression_frames=self.regression_frames,
        release_and_pedal=self.release_and_pedal,
        sounding=ring,
      )
      frames = jnp.arange(self.num_frames, dtype=jnp.float32)
      t["mask"] = jnp.where(cut < self.seconds, frames < cut * self.frame_rate - self.regression_frames, True).astype(
        jnp.float32
      )
      return t

    def other_onsets(others, dropped_at):
      """The other instruments' onsets on the piano's keys, as events and triangles, and their sounding frames
      (model.others_head, loss.others_negative_weight, scripts/onset_false_positives.py); notes playback dropped are
      not labelled (compared in samples, where playback starts them)."""
      on_keys = others.valid & (others.pitch >= MIN_PITCH) & (others.pitch < MIN_PITCH + NUM_KEYS)
      played = (others.onset < self.seconds) & (jnp.round(others.onset * self.rate) < dropped_at)
      rolls = targets.note_rolls(
        others.pitch,
        others.onset,
        others.offset,
        others.velocity,
        on_keys & played,
        num_frames=self.num_frames,
        frame_rate=self.frame_rate,
        regression_frames=self.regression_frames,
      )
      return rolls["onset"], rolls["onset_reg"], rolls["frame"]

    out = jax.vmap(label)(ex["piano"], ex["ring"], ex["complete"], first_dropped)
    if self.others_targets:
      others = jax.vmap(other_onsets)(ex["others"], others_dropped_at)
      out["other_onset"], out["other_onset_reg"], out["other_frame"] = others
    out["audio"] = jnp.clip(audio, -1.0, 1.0).astype(jnp.float32)
    if with_clean:
      out["clean"] = clean.astype(jnp.float32)
    out["kind"], out["alone"] = ex["kind"], ex["alone"]
    return out

  def batch_fn(self, batch_size: int, mesh=None, with_kind: bool = False, with_clean: bool = False):
    """`key -> batch` (jitted), on the default device or, given a `data` mesh, sharded over it (the arrays are
    replicated once); without each example's material (`kind`, an index into MATERIALS) and whether it is other
    instruments alone (`alone`) unless `with_kind`; with the clean piano stem (`clean`) if `with_clean`."""

    def make(a, key):
      out = self.batch(a, key, batch_size, with_clean)
      return out if with_kind else {k: v for k, v in out.items() if k not in ("kind", "alone")}

    if mesh is None:
      arrays, jitted = jax.device_put(self.arrays), jax.jit(make)
    else:
      from pianojax import mesh as mesh_lib

      arrays = jax.device_put(self.arrays, mesh_lib.replicated(mesh))
      jitted = jax.jit(make, out_shardings=mesh_lib.batch_sharded(mesh))
    return lambda key: jitted(arrays, key)


def from_config(config) -> DeviceSynth:
  return DeviceSynth(config, load_assets(config))
