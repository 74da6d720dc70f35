"""`--mode=sweep --config=configs/ablations/NAME.py --workdir=DIR [--variants=a,b]`: ablations as one table.

Named flag overrides, each trained and evaluated the same way.

An ablation config (configs/ablations/<name>.py) is a full config plus a `sweep` section:

  sweep.variants = ("baseline:", "linear: frontend.representation=linear", ...)
  sweep.eval = ("chords:test", "mixtures:test")  # held-out splits (test = a held-out SoundFont piano)
  sweep.metric = "onset_f1"                 # the metric the plot shows
  sweep.tune = True                         # decode each variant with its best thresholds on validation
  sweep.tune_data = ("folder", "name:validation")  # (optional) where to tune; default: sweep.eval's validation splits

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
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shlex
import time

from pianojax import checkpoints, inference, models, records, scoring, settings, trainer
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


def command(config_path: str, variant: Variant, workdir: str, base_flags: dict | None = None) -> str:
  """The train commands that reproduce one variant outside the sweep (stages joined by &&).

  `base_flags`: the `--config.x=y` overrides the sweep itself was launched with. Inference-only
  overrides (e.g. inference.segment_hop_frames) are listed too: eval and transcribe read them from
  the checkpoint's saved config.
  """
  parts, previous = [], None
  for i, items in enumerate(variant.raw):
    run_dir = os.path.join(workdir, variant.name, f"stage{i}")
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


def run_variant(config, config_path: str, variant: Variant, workdir: str, *, base_flags=None, log=print) -> dict:
  """Trains every stage of one variant (resuming), evaluates the last, returns its row."""
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
    "command": command(config_path, variant, workdir, base_flags),
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
  for name, avg in scoring.evaluate_sets(predictor, config.sweep.eval, limit, decode, masks).items():
    row.update({f"{name}/{k}": round(v, 4) for k, v in avg.items()})
  row["minutes"] = round((time.time() - start) / 60.0, 2)
  row["steps"] = sum(int(dict(stage).get("train.steps", config.train.steps)) for stage in variant.stages)
  return row


def run(config, args) -> int:
  if not args.workdir:
    raise UserError("--workdir is required for --mode=sweep")
  sweep(config, args.config_path, args.workdir, only=args.variants, base_flags=args.config_overrides)
  return 0


def sweep(config, config_path: str, workdir: str, *, only: str | None = None, base_flags=None, log=print) -> list[dict]:
  """Runs (or resumes) the sweep in `workdir`; returns all finished rows in variant order."""
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
  for variant in variants:
    if variant.name not in wanted:
      continue
    path = os.path.join(workdir, variant.name, "result.json")
    if os.path.exists(path):
      log(f"[{variant.name}] done earlier: {path}")
      continue
    row = run_variant(config, config_path, variant, workdir, base_flags=base_flags, log=log)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
      json.dump(row, f, indent=1)
    os.replace(path + ".tmp", path)
    write_report(config, config_path, workdir, names)
  rows = write_report(config, config_path, workdir, names)
  log(f"sweep: {len(rows)}/{len(names)} variants done -> {os.path.join(workdir, 'results.md')}")
  return rows


def load_rows(workdir: str, names: list[str]) -> list[dict]:
  rows = []
  for name in names:
    path = os.path.join(workdir, name, "result.json")
    if os.path.exists(path):
      with open(path) as f:
        rows.append(json.load(f))
  return rows


def table(rows: list[dict], sets: list[tuple[str, str]]) -> str:
  """Markdown: one row per variant; onset / onset+offset / frame F1 per eval set; the command."""
  metric_cols = [("onset_f1", "onset F1", 100), ("onset_offset_f1", "on+off F1", 100), ("frame_f1", "frame F1", 100)]
  if any(k.endswith("/sep_sdr") for row in rows for k in row):  # two-stage rows on sets with clean stems
    metric_cols.append(("sep_sdr", "separated SDR dB", 1))
  head = ["variant", "overrides"]
  for name, split in sets:
    head += [f"{name}:{split} {label}" for _, label, _ in metric_cols]
  head += ["steps", "min", "command"]
  lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(["---"] * 2 + ["---:"] * (len(head) - 3) + ["---"]) + " |"]
  for row in rows:
    cells = [row["variant"], f"`{row['overrides']}`" if row["overrides"] else "(base)"]
    for name, _ in sets:
      cells += [_cell(row.get(f"{name}/{key}"), scale) for key, _, scale in metric_cols]
    cells += [str(row["steps"]), f"{row['minutes']:.1f}", f"`{row['command']}`"]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


def _cell(value, scale: float) -> str:
  return "-" if value is None else f"{scale * value:.1f}"


def write_report(config, config_path: str, workdir: str, names: list[str]) -> list[dict]:
  rows = load_rows(workdir, names)
  if not rows:
    return rows
  sets = records.parse_sets(config.sweep.eval)
  os.makedirs(workdir, exist_ok=True)
  with open(os.path.join(workdir, "results.md"), "w") as f:
    f.write(f"Sweep `{config_path}` (metrics in %, on {', '.join(f'{n}:{s}' for n, s in sets)})\n\n")
    f.write(table(rows, sets) + "\n")
  plot(rows, sets, config.sweep.metric, os.path.join(workdir, "results.png"), title=os.path.basename(config_path))
  return rows


def plot(rows: list[dict], sets, metric: str, path: str, title: str = "") -> None:
  """Grouped bars: the key metric per variant, one bar per eval set."""
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  import numpy as np

  x = np.arange(len(rows))
  width = 0.8 / max(1, len(sets))
  fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(rows) + 2), 3.2))
  for i, (name, split) in enumerate(sets):
    values = [100 * r.get(f"{name}/{metric}", np.nan) for r in rows]
    ax.bar(x + (i - (len(sets) - 1) / 2) * width, values, width, label=f"{name}:{split}")
  ax.set_xticks(x, [r["variant"] for r in rows], rotation=30, ha="right")
  ax.set_ylabel(f"{metric} (%)")
  ax.set_title(title)
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
