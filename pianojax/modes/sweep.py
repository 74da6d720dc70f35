"""`--mode=sweep --config=configs/ablations/NAME.py --workdir=DIR [--variants=a,b]`: ablations as one table.

Named flag overrides, each trained and evaluated the same way.

An ablation config (configs/ablations/<name>.py) is a full config plus a `sweep` section:

  sweep.variants = ("baseline:", "linear: frontend.representation=linear", ...)
  sweep.eval = ("chords:test", "mixtures:test")  # held-out splits (test = a held-out SoundFont piano)
  sweep.metric = "onset_f1"                 # the metric the plot shows
  sweep.tune = True                         # decode each variant with its best thresholds on validation
  sweep.tune_data = ("folder", "name:validation")  # (optional) where to tune; default: sweep.eval's validation splits
  sweep.seeds = 3                           # (optional, default 1) seeds of the baseline (the first variant) ...
  sweep.reseed_within = 2.0                 # ... and of every variant within this many seed spreads of it
  sweep.pairs = ("a - b: question",)        # (optional) rows compared with each other, paired over clips
  sweep.beat_metrics = True                 # (optional) also onsets at beat resolution (metrics.beat_metrics)
  sweep.archive = "docs/ablations/working"  # (optional) a folder (committed) that keeps every finished row

A variant is `name: key=value key=value ...`; `|` separates stages trained one after the
other, each stage starting from the previous stage's weights (`init_from`), e.g. pretraining
on clean notes then fine-tuning: `curriculum: data.train=notes,chords train.steps=300 | train.steps=300`.
Values are Python literals where they parse (`(1,2)`, `0.5`, `True`), strings otherwise.

Every variant trains from the same seed on the same data for the budget its overrides give,
then is evaluated on `sweep.eval` (pianojax.scoring, as the eval command scores). Training runs
live in `<workdir>/runs/<digest of the training config>`: variants that differ only in inference
settings (the `inference` and `decode` sections) share one run. Each finished row is written to
`<workdir>/<name>/result.json` at once, so an interrupted sweep resumes where it stopped (and a
half-trained variant resumes from its own last checkpoint). The table (results.md, with the exact
command of every row) and the plot (results.png) are rebuilt from those files after every row.

A workdir holds checkpoints and is not kept anywhere; the rows are small. With `sweep.archive`, each finished
row is also copied to `<archive>/<name>[/seed<k>]/result.json` (a folder in the repository: commit it), and a row
found there is taken from it instead of trained, so a sweep resumes on a fresh machine or a clean clone, and the
report of a finished sweep is rebuilt from the archive alone without training anything.

Statistics (pianojax.stats): each row keeps its per-clip scores, so the table gives every row's mean with a
bootstrap interval over test clips (and seeds), its difference from the baseline with a paired interval, and
marks a difference as real when that interval excludes zero. With `sweep.seeds = n`, the baseline trains from
seeds `seed, seed+1, ...` (before any other row); each variant whose first seed's score lies within
`reseed_within` seed spreads (standard deviations of the baseline's per-seed means) of the baseline gets the same
seeds, so the rows whose answer hangs on seed noise are measured against it. Seed k > 0 of a variant is written to
`<workdir>/<name>/seed<k>/result.json`. Each row also states its training compute: GFLOP (3 x the forward FLOPs
of `models.count_flops`, per example, times batch and steps) and wall minutes on the machine named in the row.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import shlex
import time

import numpy as np

from pianojax import checkpoints, inference, metrics, models, records, scoring, settings, stats, trainer
from pianojax.errors import UserError


@dataclasses.dataclass(frozen=True)
class Variant:
  name: str
  stages: tuple[tuple[tuple[str, object], ...], ...]  # per stage: (dotted key, value) overrides
  text: str  # the overrides as written in the config
  raw: tuple[tuple[str, ...], ...] = ()  # per stage: the "key=value" items as written


def parse_variant(spec: str) -> Variant:
  """`name: k=v k=v | k=v` -> Variant."""
  name, sep, rest = spec.partition(":")
  name = name.strip()
  if not sep or not name or not name.replace("_", "").replace("-", "").isalnum():
    raise UserError(f"sweep variant {spec!r} must look like 'name: key=value ...' (name: letters, digits, - and _)")
  stages, raw = [], []
  for stage in rest.split("|"):
    pairs = []
    raw.append(tuple(stage.split()))
    for item in stage.split():
      key, eq, value = item.partition("=")
      if not eq or not key:
        raise UserError(f"sweep variant {name!r}: {item!r} is not key=value")
      pairs.append((key, settings.parse_value(value)))
    stages.append(tuple(pairs))
  return Variant(name, tuple(stages), rest.strip(), tuple(raw))


def replicate(variant: Variant, k: int, base_seed: int) -> Variant:
  """`variant` trained from seed `base_seed + k` (every stage; `base_seed`: the variant's own seed, if it sets
  one, else the config's)."""
  if k == 0:
    return variant
  own = [v for stage in variant.stages for key, v in stage if key == "seed"]
  seed = int(own[-1] if own else base_seed) + k
  item = f"seed={seed}"
  stages = tuple((*((key, v) for key, v in stage if key != "seed"), ("seed", seed)) for stage in variant.stages)
  raw = tuple((*(i for i in items if not i.startswith("seed=")), item) for items in variant.raw)
  return Variant(variant.name, stages, " | ".join(" ".join(items) for items in raw), raw)


def result_path(workdir: str, name: str, k: int = 0) -> str:
  """Where seed `k` (0: the first) of variant `name` writes its row."""
  return os.path.join(workdir, name, *([f"seed{k}"] if k else []), "result.json")


# Config sections that change inference only: variants differing in nothing else share one training run.
INFERENCE_ONLY = ("inference", "decode", "sweep")


def stage_configs(config, variant: Variant, workdir: str) -> list[tuple[object, str]]:
  """(config, run folder) per stage. A run folder is named by a digest of everything that shapes
  training, so variants that differ only in inference settings train once."""
  out, previous = [], None
  for stage in variant.stages:
    stage_config = settings.apply_overrides(config, stage)
    if previous:
      stage_config = settings.apply_overrides(stage_config, [("init_from", os.path.join(previous, "checkpoints"))])
    trained = {k: v for k, v in settings.as_dict(stage_config).items() if k not in INFERENCE_ONLY}
    digest = hashlib.sha1(json.dumps(trained, sort_keys=True).encode()).hexdigest()[:10]
    previous = os.path.join(workdir, "runs", digest)
    out.append((stage_config, previous))
  return out


def command(config_path: str, variant: Variant, workdir: str, base_flags: dict | None = None, k: int = 0) -> str:
  """The train commands that reproduce one variant outside the sweep (stages joined by &&).

  `base_flags`: the `--config.x=y` overrides the sweep itself was launched with. Inference-only
  overrides (e.g. inference.segment_hop_frames) are listed too: eval and transcribe read them from
  the checkpoint's saved config.
  """
  parts, previous = [], None
  for i, items in enumerate(variant.raw):
    run_dir = os.path.join(workdir, variant.name, *([f"seed{k}"] if k else []), f"stage{i}")
    flags = [f"--config.{k}={_flag(v)}" for k, v in (base_flags or {}).items()]
    flags += [f"--config.{item}" for item in items]
    if previous:
      flags.append(f"--config.init_from={os.path.join(previous, 'checkpoints')}")
    args = ["python", "launch.py", "--mode=train", f"--config={config_path}", *flags, f"--workdir={run_dir}"]
    parts.append(" ".join(shlex.quote(a) for a in args))
    previous = run_dir
  return " && ".join(parts)


def _flag(value) -> str:
  if isinstance(value, tuple | list):
    return "(" + ",".join(str(v) for v in value) + ("," if len(value) == 1 else "") + ")"
  return str(value)


# Per-clip metrics a row keeps (for pianojax.stats).
CLIP_METRICS = ("onset_f1", "onset_offset_f1", "frame_f1")


def run_variant(
  config, config_path: str, variant: Variant, workdir: str, *, base_flags=None, log=print, k: int = 0
) -> dict:
  """Trains every stage of one variant (resuming), evaluates the last, returns its row (`k`: which seed, for the
  row's command)."""
  start = time.time()
  stages = stage_configs(config, variant, workdir)
  for i, ((stage_config, run_dir), stage) in enumerate(zip(stages, variant.stages, strict=True)):
    what = " ".join(f"{k}={v}" for k, v in stage) or "base"
    log(f"[{variant.name}] stage {i + 1}/{len(stages)}: {what} -> {run_dir}")
    trainer.train_and_evaluate(stage_config, run_dir, log=log)
  stage_config, run_dir = stages[-1]
  variables = checkpoints.restore_variables(os.path.join(run_dir, "checkpoints"), stage_config)
  model = models.build(stage_config)
  predictor = inference.Predictor(stage_config, model, variables, stage_config.train.batch_size)
  masks = None
  if stage_config.model.stages == 2:  # a two-stage variant is also scored on separation where a set has stems
    masks = inference.Predictor(stage_config, model, variables, stage_config.train.batch_size, outputs="mask")
  row = {
    "variant": variant.name,
    "overrides": variant.text,
    "command": command(config_path, variant, workdir, base_flags, k),
    "seed": int(stage_config.seed),
  }
  limit = config.sweep.eval_max_records or None
  decode = None
  if config.sweep.tune:  # each variant decodes with its own best thresholds on the validation splits
    validation = config.sweep.get("tune_data") or [
      f"{name}:validation" for name, _ in records.parse_sets(config.sweep.eval)
    ]
    best = scoring.best_thresholds(
      scoring.threshold_grid(predictor, records.read(stage_config, validation, max_records=limit))
    )
    decode = predictor.decode.replace(onset_threshold=best["onset_threshold"], frame_threshold=best["frame_threshold"])
    row.update(onset_threshold=best["onset_threshold"], frame_threshold=best["frame_threshold"])
  row["clips"] = {}
  beats = bool(config.sweep.get("beat_metrics", False))
  for name, per_record in scoring.score_sets(predictor, config.sweep.eval, limit, decode, masks, beats=beats).items():
    avg = metrics.average(list(per_record.values()))
    row.update({f"{name}/{key}": round(v, 4) for key, v in avg.items()})
    kept = CLIP_METRICS + (("beat_onset_f1",) if beats else ())
    per_clip = {m: [round(r[m], 4) for r in per_record.values()] for m in kept}
    row["clips"][name] = {"names": list(per_record), **per_clip}
  row["minutes"] = round((time.time() - start) / 60.0, 2)
  row["steps"] = sum(int(c.train.steps) for c, _ in stages)
  row["train_gflop"] = round(sum(_train_gflop(model, variables, c) for c, _ in stages), 1)
  row["train_minutes"] = round(sum(train_minutes(d) for _, d in stages), 2)
  row["machine"] = machine()
  return row


def train_minutes(run_dir: str) -> float:
  """Training wall time of a run from its metrics.jsonl (the first step's seconds, then each logged interval's
  steps over its steps per second; the last record of a step wins where a resumed run logged it again), so a row
  that reuses or resumes a run still states what training it cost."""
  path = os.path.join(run_dir, "metrics.jsonl")
  if not os.path.exists(path):
    return 0.0
  first, rates = 0.0, {}
  with open(path) as f:
    for line in f:
      record = json.loads(line)
      if "first_step_seconds" in record:
        first = float(record["first_step_seconds"])
      if record.get("steps_per_second"):
        rates[int(record["step"])] = float(record["steps_per_second"])
  seconds, previous = first, 1
  for step in sorted(rates):
    seconds += (step - previous) / rates[step]
    previous = step
  return seconds / 60.0


def _train_gflop(model, variables, config) -> float:
  """Training compute of one stage: 3 x forward FLOPs of a segment x batch x steps, in GFLOP."""
  samples = config.data.segment_frames * config.frontend.hop_length
  forward = models.count_flops(model, variables, (1, samples))["total"]
  return 3.0 * forward * config.train.batch_size * config.train.steps / 1e9


def machine() -> str:
  """The machine in a few words: processor (or accelerator) and core count."""
  import jax

  device = jax.devices()[0]
  if device.platform != "cpu":
    return f"{jax.device_count()} x {device.device_kind}"
  name = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
  except (OSError, StopIteration):
    pass
  return f"{name}, {len(os.sched_getaffinity(0))} cores"


def run(config, args) -> int:
  if not args.workdir:
    raise UserError("--workdir is required for --mode=sweep")
  sweep(config, args.config_path, args.workdir, only=args.variants, base_flags=args.config_overrides)
  return 0


def sweep(config, config_path: str, workdir: str, *, only: str | None = None, base_flags=None, log=print) -> list[dict]:
  """Runs (or resumes) the sweep in `workdir`; returns all finished first-seed rows in variant order."""
  if "sweep" not in config:
    raise UserError(f"{config_path} has no `sweep` section: see configs/ablations/")
  variants = [parse_variant(v) for v in config.sweep.variants]
  names = [v.name for v in variants]
  if len(set(names)) != len(names):
    raise UserError(f"duplicate variant names in {config_path}")
  wanted = set(n.strip() for n in only.split(",")) if only else set(names)
  unknown = wanted - set(names)
  if unknown:
    raise UserError(f"no variant named {', '.join(sorted(unknown))} in {config_path} (has {', '.join(names)})")
  seeds = int(config.sweep.get("seeds", 1))

  archive = str(config.sweep.get("archive", "") or "")

  if archive:
    _sync_archive(archive, workdir, names, log)

  def run_one(variant: Variant, k: int) -> None:
    path = result_path(workdir, variant.name, k)
    if os.path.exists(path):
      log(f"[{variant.name}] {f'seed {k} ' if k else ''}done earlier: {path}")
      return
    row = run_variant(
      config, config_path, replicate(variant, k, config.seed), workdir, base_flags=base_flags, log=log, k=k
    )
    _write_row(path, row)
    if archive:
      _write_row(result_path(archive, variant.name, k), row)
    write_report(config, config_path, workdir, names)

  # The baseline's seeds first (their spread decides which rows need more seeds), then row by row: its first seed,
  # and its other seeds at once where that first one lands within `reseed_within` spreads of the baseline.
  for k in range(seeds if variants[0].name in wanted else 0):
    run_one(variants[0], k)
  for variant in variants[1:]:
    if variant.name not in wanted:
      continue
    run_one(variant, 0)
    if seeds > 1 and variant.name in reseeded(config, workdir, names):
      for k in range(1, seeds):
        run_one(variant, k)
  rows = write_report(config, config_path, workdir, names)
  log(f"sweep: {len(rows)}/{len(names)} variants done -> {os.path.join(workdir, 'results.md')}")
  return rows


def _sync_archive(archive: str, workdir: str, names: list[str], log) -> None:
  """Copies the archive's rows into the workdir (a fresh machine resumes where the sweep stopped) and the workdir's
  rows into the archive (rows finished before the archive was set)."""
  for name in names:
    k = 0
    while True:
      kept, path = result_path(archive, name, k), result_path(workdir, name, k)
      if not os.path.exists(path):
        if not os.path.exists(kept):
          break
        log(f"[{name}] {f'seed {k} ' if k else ''}done earlier, kept in the archive: {kept}")
        _write_row(path, _read_row(kept))
      elif not os.path.exists(kept):
        _write_row(kept, _read_row(path))
      k += 1


def _read_row(path: str) -> dict:
  with open(path) as f:
    return json.load(f)


def _write_row(path: str, row: dict) -> None:
  """Writes a row atomically (a crash leaves the old file or none, never half a row)."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path + ".tmp", "w") as f:
    json.dump(row, f, indent=1)
  os.replace(path + ".tmp", path)


def reseeded(config, workdir: str, names: list[str]) -> list[str]:
  """The variants that get every seed: the baseline, and those whose first-seed score on `sweep.metric` lies
  within `sweep.reseed_within` seed spreads of the baseline's mean (none until the baseline has two seeds)."""
  groups = dict(zip(names, load_groups(workdir, names), strict=True))
  base = _scores(groups[names[0]], config.sweep.metric)
  spread = stats.seed_spread(base) if base is not None else None
  if spread is None:
    return names[:1]
  within = float(config.sweep.get("reseed_within", 2.0)) * spread
  out = names[:1]
  for name in names[1:]:
    first = _scores(groups[name][:1], config.sweep.metric)
    if first is not None and abs(first.mean - base.mean) <= within:
      out.append(name)
  return out


def load_groups(workdir: str, names: list[str]) -> list[list[dict]]:
  """Per variant, its finished rows, first seed first (an empty list for a variant not yet run; seeds after a
  missing one are not read)."""
  groups = []
  for name in names:
    rows, k = [], 0
    while os.path.exists(path := result_path(workdir, name, k)):
      with open(path) as f:
        rows.append(json.load(f))
      k += 1
    groups.append(rows)
  return groups


def load_rows(workdir: str, names: list[str]) -> list[dict]:
  return [group[0] for group in load_groups(workdir, names) if group]


def _scores(group: list[dict], metric: str) -> stats.Scores | None:
  """A variant's per-clip `metric` over its seeds (None for rows written before rows kept clips, or none)."""
  if not group or any("clips" not in row for row in group):
    return None
  strata = tuple(name for name, clips in group[0]["clips"].items() for _ in clips[metric])
  values = [[v for clips in row["clips"].values() for v in clips[metric]] for row in group]
  return stats.Scores(np.array(values), strata)


def _mean_over_seeds(group: list[dict], key: str):
  values = [row[key] for row in group if row.get(key) is not None]
  return float(np.mean(values)) if values else None


def summarise(groups: list[list[dict]], metric: str) -> list[dict]:
  """Per variant with rows: seeds, mean `metric` with its interval, difference from the baseline (the first
  group) with its paired interval, and whether that difference is real (its interval excludes zero)."""
  base = _scores(groups[0], metric) if groups and groups[0] else None
  out = []
  for group in groups:
    if not group:
      continue
    scores = _scores(group, metric)
    entry = {"variant": group[0]["variant"], "seeds": len(group), "interval": None, "difference": None}
    if scores is not None:
      entry["interval"] = stats.interval(scores)
      entry["spread"] = stats.seed_spread(scores)
      if base is not None and group is not groups[0] and scores.strata == base.strata:
        entry["difference"] = stats.difference(scores, base)
    out.append(entry)
  return out


# (metric key, column label, scale) of the per-set columns; labels for the interval columns too.
METRIC_COLUMNS = (("onset_f1", "onset F1", 100), ("onset_offset_f1", "on+off F1", 100), ("frame_f1", "frame F1", 100))
LABELS = {key: label for key, label, _ in METRIC_COLUMNS}


def _interval_summaries(groups: list[list[dict]], metric: str) -> tuple[list[str], list[tuple]]:
  """The metrics given intervals (the sweep's own, and onset+offset F1 for note ends) and, per variant with rows,
  their `summarise` entries (the baseline: the first variant, even while it has no rows)."""
  shown = list(dict.fromkeys((metric, "onset_offset_f1")))
  return shown, list(zip(*(summarise(groups, m) for m in shown), strict=True))


def table(groups: list[list[dict]], sets: list[tuple[str, str]], metric: str = "onset_f1") -> str:
  """Markdown: one row per variant (per-set metrics averaged over its seeds); the interval columns of `metric` and
  of onset+offset F1; the command of its first seed."""
  metric_cols = list(METRIC_COLUMNS)
  shown, summaries = _interval_summaries(groups, metric)
  groups = [g for g in groups if g]
  if any(k.endswith("/sep_sdr") for group in groups for k in group[0]):  # two-stage rows on sets with clean stems
    metric_cols.append(("sep_sdr", "separated SDR dB", 1))
  if any(k.endswith("/beat_onset_f1") for group in groups for k in group[0]):  # sweep.beat_metrics
    metric_cols.append(("beat_onset_f1", "beat onset F1", 100))
  head = ["variant", "overrides"]
  for name, split in sets:
    head += [f"{name}:{split} {lab}" for _, lab, _ in metric_cols]
  for m in shown:
    head += [f"mean {LABELS.get(m, m)} [95% interval]", f"{LABELS.get(m, m)} vs baseline [95% interval]"]
  head += ["seeds", "train GFLOP", "steps", "train min"]
  head += ["command"]
  lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] * 2 + ["---:"] * (len(head) - 3) + ["---"]) + " |"]
  for group, per_metric in zip(groups, summaries, strict=True):
    row = group[0]
    cells = [row["variant"], f"`{row['overrides']}`" if row["overrides"] else "(base)"]
    for name, _ in sets:
      cells += [_cell(_mean_over_seeds(group, f"{name}/{key}"), scale) for key, _, scale in metric_cols]
    for summary in per_metric:
      cells += [_interval_cell(summary["interval"]), _difference_cell(summary["difference"])]
    cells.append(str(len(group)))
    gflop = row.get("train_gflop")
    minutes = _mean_over_seeds(group, "train_minutes") or _mean_over_seeds(group, "minutes")
    cells += ["-" if gflop is None else f"{gflop:,.0f}", str(row["steps"]), f"{minutes:.1f}"]
    cells.append(f"`{row['command']}`")
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def summary_table(groups: list[list[dict]], metric: str = "onset_f1") -> str:
  """Markdown, one short row per variant: the interval columns (means over the eval sets), beat onset F1 where
  scored, seeds, training GFLOP and minutes."""
  shown, summaries = _interval_summaries(groups, metric)
  groups = [g for g in groups if g]
  beats = any(k.endswith("/beat_onset_f1") for group in groups for k in group[0])
  head = ["variant", "overrides"]
  for m in shown:
    head += [f"mean {LABELS.get(m, m)} [95%]", "vs baseline"]
  head += ["beat onset F1"] * beats + ["seeds", "train GFLOP", "train min"]
  lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + " |"]
  for group, per_metric in zip(groups, summaries, strict=True):
    row = group[0]
    cells = [row["variant"], f"`{row['overrides']}`" if row["overrides"] else "(base)"]
    for summary in per_metric:
      cells += [_interval_cell(summary["interval"]), _difference_cell(summary["difference"])]
    if beats:
      values = [_mean_over_seeds(group, k) for k in row if k.endswith("/beat_onset_f1")]
      cells.append(_cell(float(np.mean(values)) if values else None, 100))
    gflop = row.get("train_gflop")
    minutes = _mean_over_seeds(group, "train_minutes") or _mean_over_seeds(group, "minutes")
    cells += [str(len(group)), "-" if gflop is None else f"{gflop:,.0f}", f"{minutes:.1f}"]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def pairs_table(groups: list[list[dict]], pairs, metric: str = "onset_f1") -> str:
  """Markdown, one line per "a - b: question" of `pairs` (`sweep.pairs`) whose two rows have results: row a minus
  row b, paired over clips (each row's seeds resampled on their own), for `metric` and onset+offset F1. Where the
  baseline is not the reference a question needs (variety on vs off, MFCC with vs without truncation)."""
  by_name = {g[0]["variant"]: g for g in groups if g}
  shown = list(dict.fromkeys((metric, "onset_offset_f1")))
  head = ["comparison", "question"] + [f"{LABELS.get(m, m)} difference [95%]" for m in shown] + ["seeds"]
  lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + " |"]
  for spec in pairs:
    names, _, question = spec.partition(":")
    a, _, b = (n.strip() for n in names.partition(" - "))
    if a not in by_name or b not in by_name:
      continue
    cells = [f"{a} - {b}", question.strip()]
    for m in shown:
      sa, sb = _scores(by_name[a], m), _scores(by_name[b], m)
      paired = sa is not None and sb is not None and sa.strata == sb.strata
      cells.append(_difference_cell(stats.difference(sa, sb)) if paired else "-")
    cells.append(f"{len(by_name[a])} / {len(by_name[b])}")
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines) if len(lines) > 2 else ""


def _cell(value, scale: float) -> str:
  return "-" if value is None else f"{scale * value:.1f}"


def _interval_cell(iv) -> str:
  return "-" if iv is None else f"**{100 * iv.estimate:.1f}** [{100 * iv.low:.1f}, {100 * iv.high:.1f}]"


def _difference_cell(iv) -> str:
  """The difference in points; "real" where its interval excludes zero."""
  if iv is None:
    return "-"
  verdict = " real" if iv.excludes_zero else ""
  return f"{100 * iv.estimate:+.1f} [{100 * iv.low:+.1f}, {100 * iv.high:+.1f}]{verdict}"


def write_report(config, config_path: str, workdir: str, names: list[str]) -> list[dict]:
  groups = load_groups(workdir, names)
  rows = [g[0] for g in groups if g]
  if not rows:
    return rows
  sets = records.parse_sets(config.sweep.eval)
  metric = config.sweep.metric
  machines = sorted({row["machine"] for row in rows if row.get("machine")})
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "results.md"), "w") as f:
    f.write(f"Sweep `{config_path}` (metrics in %, on {', '.join(f'{n}:{s}' for n, s in sets)}")
    f.write(f"; trained on {'; '.join(machines)})\n\n" if machines else ")\n\n")
    f.write(
      "Intervals: 95% bootstrap over test clips (resampled within each set) and, for rows with several seeds, "
      "seeds; the difference from the baseline is paired over clips, and marked real where its interval excludes "
      "zero.\n\n"
    )
    base = _scores(groups[0], metric) if groups[0] else None
    spread = stats.seed_spread(base) if base is not None else None
    if spread is not None:
      within = float(config.sweep.get("reseed_within", 2.0))
      f.write(
        f"The baseline's seed spread (standard deviation of its {base.seeds} per-seed means of {metric}): "
        f"{100 * spread:.1f} points; rows within {within:g} spreads of it ({100 * within * spread:.1f} points) "
        f"train from {int(config.sweep.get('seeds', 1))} seeds.\n\n"
      )
    f.write(summary_table(groups, metric) + "\n\n")
    paired = pairs_table(groups, config.sweep.get("pairs", ()), metric)
    if paired:
      f.write("Rows against each other (paired over clips, as against the baseline):\n\n" + paired + "\n\n")
    f.write("Every set, every metric, and the command of each row:\n\n")
    f.write(table(groups, sets, metric) + "\n")
  plot(groups, metric, os.path.join(workdir, "results.png"), title=os.path.basename(config_path))
  return rows


def plot(groups: list[list[dict]], metric: str, path: str, title: str = "") -> None:
  """Each variant's mean `metric` over the eval sets with its 95% interval (a bar and whisker); the baseline's
  interval shaded across; rows without per-clip scores (older sweeps) drawn as bare points."""
  first = groups[0][0]["variant"] if groups and groups[0] else None
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  summaries = summarise(groups, metric)
  groups = [g for g in groups if g]
  y = np.arange(len(groups))[::-1]
  fig, ax = plt.subplots(figsize=(7.0, max(2.4, 0.32 * len(groups) + 1.2)))
  base = summaries[0]["interval"] if groups and summaries[0]["variant"] == first else None
  if base is not None:
    ax.axvspan(100 * base.low, 100 * base.high, color="0.85", zorder=0)
  for yi, group, summary in zip(y, groups, summaries, strict=True):
    iv = summary["interval"]
    if iv is None:
      means = [v for k, v in group[0].items() if k.endswith(f"/{metric}")]
      ax.plot(100 * float(np.mean(means)), yi, "o", mfc="none", color="0.4")
      continue
    diff = summary["difference"]
    color = "C3" if diff is not None and diff.excludes_zero else "C0"
    ax.errorbar(
      100 * iv.estimate,
      yi,
      xerr=[[100 * (iv.estimate - iv.low)], [100 * (iv.high - iv.estimate)]],
      fmt="o",
      color=color,
      capsize=3,
      ms=4 + summary["seeds"],
    )
  ax.set_yticks(y, [f"{g[0]['variant']} ({len(g)} seed{'s' if len(g) > 1 else ''})" for g in groups], fontsize=7)
  ax.set_xlabel(f"mean {metric} over the eval sets (%), 95% interval")
  ax.set_title(f"{title}\ngrey: the baseline's interval; red: a real difference from it", fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
