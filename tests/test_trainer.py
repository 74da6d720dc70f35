"""The trainer: device-count invariance, both objectives, resume after a kill, init_from, two processes (the guard
against non-finite and diverged steps: tests/test_faults.py)."""

import json
import os
import socket
import subprocess
import sys
import threading

import jax
import numpy as np
import pytest

from pianojax import checkpoints, decoding, heads, input_pipeline, models, state, trainer
from pianojax import mesh as mesh_lib
from pianojax.errors import UserError
from tests.conftest import FAST_COMPILE, REPO, TINY_FLAGS, tiny_config


def fixed_batch(config, n=8, seed=0):
  spec = input_pipeline.SegmentSpec.from_config(config)
  sources, weights = trainer.training_sources(config)
  stream = input_pipeline.TrainSegments(sources, weights, spec, None, seed=seed)
  items = [stream[i] for i in range(n)]
  return {k: np.stack([it[k] for it in items]) for k in items[0]}


def run_steps(config, batch, devices, steps):
  mesh = mesh_lib.data_mesh(devices)
  model = models.build(config)
  opt = state.make_optimizer(config)
  rng = jax.random.key(0)
  train_state = state.initial_state(model, opt, config, rng, out_shardings=mesh_lib.replicated(mesh))
  step = trainer.jit_train_step(model, opt, config, mesh, rng)
  losses, grad_norms = [], []
  for _ in range(steps):
    train_state, m = step(train_state, mesh_lib.to_global(batch, mesh))
    losses.append(float(m["loss/total"]))
    grad_norms.append(float(m["grad_norm"]))
  return losses, train_state, grad_norms


def test_one_and_eight_devices_take_the_same_steps(tfds_dir):
  """Plain SGD from step 0 (no warm-up): every update is the gradient itself, so a wrong reduction across devices
  (a sum, or a shard's gradient alone) changes the gradient norms, the losses after steps and the parameters."""
  config = tiny_config(tfds_dir)
  config.optim.optimizer, config.optim.schedule, config.optim.warmup_steps = "sgd", "constant", 0
  config.optim.learning_rate, config.optim.grad_clip = 0.02, 0.0
  batch = fixed_batch(config)
  assert len(jax.devices()) == 8
  one, s1, g1 = run_steps(config, batch, jax.devices()[:1], 3)
  eight, s8, g8 = run_steps(config, batch, jax.devices(), 3)
  assert one[2] < one[0] - 0.01, one  # the updates moved the loss, so the later losses test them
  np.testing.assert_allclose(g1, g8, rtol=2e-4)  # float32 sums in another order: ~1e-5 apart
  np.testing.assert_allclose(one, eight, rtol=2e-4)
  for a, b in zip(jax.tree.leaves(s1.params), jax.tree.leaves(s8.params), strict=True):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("objective", ["classification", "regression"])  # (hybrid mixes their terms: test_pedal.py)
def test_objective_learns_a_fixed_batch_and_decodes_notes(tfds_dir, objective):
  config = tiny_config(tfds_dir, objective=objective, **{"model.pedal": True})  # (with the release and pedal heads)
  config.optim.learning_rate = 1e-2
  config.optim.warmup_steps = 5
  config.train.steps = 30
  batch = fixed_batch(config, n=8, seed=3)
  losses, trained, _ = run_steps(config, batch, jax.devices()[:2], 30)  # (eight devices: the test above)
  assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:3]), losses
  model = models.build(config)
  logits = model.apply(trained.variables, batch["audio"][:1], train=False)
  probs = {k: np.asarray(jax.nn.sigmoid(v[0])) for k, v in logits.items()}
  assert probs["frame"].shape == (config.data.segment_frames, 88)
  # The network has fitted the frame roll it was trained on, well above the background...
  target = batch["frame"][0] > 0.5
  assert target.any()
  assert probs["frame"][target].mean() > 2 * probs["frame"][~target].mean()
  # (chords and mixtures have no pedal: every key is down exactly while it sounds, and the release head learns that)
  np.testing.assert_array_equal(batch["key_frame"][0], batch["frame"][0])
  assert probs["key_frame"][target].mean() > 2 * probs["key_frame"][~target].mean()
  # ...and decoding (thresholds between the two levels) gives notes on the right keys.
  event = heads.of(objective).onset
  onset_level = (probs[event][batch[event][0] > 0.5].mean() + probs[event].mean()) / 2
  frame_level = (probs["frame"][target].mean() + probs["frame"][~target].mean()) / 2
  settings = decoding.DecodeSettings.from_config(config.decode).replace(
    onset_threshold=onset_level, frame_threshold=frame_level
  )
  found = decoding.decode(probs, 50.0, objective, settings)
  assert len(found) > 0
  from pianojax import metrics

  decoded = metrics.roll(found, config.data.segment_frames, 50.0)
  precision = (decoded & target).sum() / decoded.sum()
  assert precision > 3 * target.mean(), (precision, target.mean())  # well above chance


def test_save_kill_resume_equals_uninterrupted(tfds_dir, tmp_path):
  config = tiny_config(tfds_dir)
  config.train.steps = 6
  config.train.checkpoint_every = 3
  config.train.eval_every = 1000
  config.train.log_every = 3
  straight = tmp_path / "straight"
  before = set(threading.enumerate())
  trainer.train_and_evaluate(config, str(straight), log=lambda *_: None)
  assert set(threading.enumerate()) <= before  # the input threads and TensorBoard's writer ended with the run

  # The same run killed after step 4 (checkpoint at 3), then restarted.
  killed = tmp_path / "killed"
  code = f"""
import sys, os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
from tests.conftest import tiny_config
from pianojax import trainer
config = tiny_config({str(tfds_dir)!r})
config.train.steps = 6
config.train.checkpoint_every = 3
config.train.eval_every = 1000
config.train.log_every = 3
def log(msg):
  print(msg, flush=True)
import pianojax.mesh as mesh_lib
real = mesh_lib.to_global
count = [0]
def dying(batch, mesh):
  count[0] += 1
  if count[0] == 5:
    import time
    time.sleep(3)  # let the asynchronous save of step 3 land, as it would before a real kill
    os._exit(17)  # killed between steps 4 and 5
  return real(batch, mesh)
mesh_lib.to_global = dying
trainer.train_and_evaluate(config, {str(killed)!r}, log=log)
"""
  done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
  assert done.returncode == 17, done.stderr[-3000:]
  assert checkpoints.Checkpoints(str(killed / "checkpoints")).latest_step() == 3
  messages = []
  trainer.train_and_evaluate(config, str(killed), log=messages.append)
  assert any("resumed" in m and "step 3" in m for m in messages)

  def final_params(workdir):
    root, step = checkpoints.resolve(str(workdir / "checkpoints"))
    assert step == 6
    import orbax.checkpoint as ocp

    with ocp.CheckpointManager(root) as m:
      return m.restore(step, args=ocp.args.Composite(state=ocp.args.PyTreeRestore()))["state"]["params"]

  a, b = final_params(straight), final_params(killed)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=1e-6)


def test_init_from_copies_parameters(tfds_dir, tmp_path):
  config = tiny_config(tfds_dir)
  config.train.steps = 3
  config.train.eval_every = 1000
  trainer.train_and_evaluate(config, str(tmp_path / "pre"), log=lambda *_: None)
  pre = checkpoints.restore_variables(str(tmp_path / "pre"), config)
  fresh = state.initial_variables(models.build(config), config, jax.random.key(config.seed))
  assert any(
    not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(pre), jax.tree.leaves(fresh), strict=True)
  )  # trained parameters, not the initial ones
  fine = tiny_config(tfds_dir, init_from=str(tmp_path / "pre"))
  fine.train.steps = 0  # the fine-tune run's step 0 is what init_from made of it
  messages = []
  trainer.train_and_evaluate(fine, str(tmp_path / "fine"), log=messages.append)
  assert any("initialised parameters from" in m for m in messages)
  start = checkpoints.restore_variables(str(tmp_path / "fine" / "checkpoints" / "0"), fine)
  for a, b in zip(jax.tree.leaves(pre), jax.tree.leaves(start), strict=True):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_two_processes_compute_what_one_process_with_two_devices_computes(tfds_dir, tmp_path):
  port = free_port()
  env = {**os.environ, "XLA_FLAGS": FAST_COMPILE}  # (one device per process)
  env["JAX_PLATFORMS"] = "cpu"
  flags = [
    "--mode=train",
    *TINY_FLAGS,  # no spectrogram masks: the global batch holds the same items in another order (process p takes
    # items p, p+2, ...), and masks are drawn by position
    f"--config.data.tfds_dir={tfds_dir}",
    "--config.train.steps=3",
    "--config.train.log_every=1",
    "--config.train.eval_every=1000",
    "--config.train.batch_size=4",
    "--config.optim.warmup_steps=0",
    "--config.optim.optimizer=sgd",
  ]
  procs = []
  for i in range(2):
    cmd = [sys.executable, "launch.py", *flags, f"--workdir={tmp_path / 'two'}", f"--coordinator=127.0.0.1:{port}"]
    cmd += ["--num_processes=2", f"--process_id={i}"]
    procs.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
  outs = [p.communicate(timeout=300)[0] for p in procs]
  for p, out in zip(procs, outs, strict=True):
    assert p.returncode == 0, out[-3000:]
  assert "2 device(s)" in outs[0] and "step 3/3" in outs[0]
  one = subprocess.run(
    [sys.executable, "launch.py", *flags, f"--workdir={tmp_path / 'one'}"],
    cwd=REPO,
    env={**env, "XLA_FLAGS": f"{FAST_COMPILE} --xla_force_host_platform_device_count=2"},
    capture_output=True,
    text=True,
    check=False,
  )
  assert one.returncode == 0 and "2 device(s)" in one.stdout, one.stderr[-3000:]
  a, b = (checkpoints.load_model(str(tmp_path / run))[2] for run in ("two", "one"))
  assert checkpoints.resolve(str(tmp_path / "two"))[1] == checkpoints.resolve(str(tmp_path / "one"))[1] == 3
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-5)  # float32 order: ~1e-6


def test_a_failing_evaluation_costs_no_training(tfds_dir, tmp_path):
  config = tiny_config(tfds_dir)
  config.train.steps = 4
  config.train.eval_every = 3
  config.train.checkpoint_every = 1000
  config.train.eval_datasets = ("maestro",)  # not built here: evaluation fails at step 3
  before = set(threading.enumerate())
  with pytest.raises(UserError, match="maestro"):
    trainer.train_and_evaluate(config, str(tmp_path / "run"), log=lambda *_: None)
  assert set(threading.enumerate()) <= before  # ended on the error too: a sweep or a test session keeps none
  assert checkpoints.Checkpoints(str(tmp_path / "run" / "checkpoints")).latest_step() == 3


def test_beat_framing_learns_a_fixed_batch(tfds_dir):
  """The bug check before per-beat framing is measured (issue 20): trained through the whole pipeline (beats tracked
  in each segment, features pooled between them), the network fits a tiny set: its loss falls as far as frame
  framing's above, and the frame roll it outputs sits on the played keys. (That pooling keeps features on their
  frames: tests/test_models.py.)"""
  config = tiny_config(tfds_dir, **{"frontend.framing": "beat"})
  config.optim.learning_rate = 1e-2
  config.optim.warmup_steps = 5
  batch = fixed_batch(config, n=8, seed=3)
  assert batch["beat_ids"].shape == (8, config.data.segment_frames)
  assert (batch["beat_ids"].max(axis=1) > 0).all()  # every segment has beats to pool between
  losses, trained, _ = run_steps(config, batch, jax.devices()[:2], 30)
  assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:3]), losses
  model = models.build(config)
  logits = model.apply(trained.variables, batch["audio"], train=False, beat_ids=batch["beat_ids"])
  frame = np.asarray(jax.nn.sigmoid(logits["frame"]))
  target = batch["frame"] > 0.5
  assert target.any()
  assert frame[target].mean() > 2 * frame[~target].mean()


SPY = """
import contextlib, sys
from etils import epy
from etils.epy import lazy_imports_utils
original, seen = lazy_imports_utils.lazy_imports, []
@contextlib.contextmanager
def spy(*args, **kwargs):
  seen.append(sys._getframe(2).f_globals.get("__name__"))
  with original(*args, **kwargs):
    yield
epy.lazy_imports = lazy_imports_utils.lazy_imports = spy
from pianojax import datasets, trainer
from tests.conftest import tiny_config
trainer.settle_lazy_imports()
print("settled:", len(seen))
seen.clear()
config = tiny_config(sys.argv[1])
sources, _ = trainer.training_sources(config)
sources[0][0]
print("then:", ",".join(seen))
"""


def test_the_data_libraries_load_before_a_checkpoint_save_thread_exists(tfds_dir):
  # etils' lazy_imports swaps builtins.__import__ for the whole process while a module loads: a save thread's
  # imports in that window fail. After settle_lazy_imports, opening and reading the datasets loads no such module
  # (a fresh process: in this one, earlier tests have loaded everything already).
  out = subprocess.run(
    [sys.executable, "-c", SPY, str(tfds_dir)], capture_output=True, text=True, cwd=REPO, check=True
  ).stdout
  settled = int(out.split("settled:")[1].split()[0])
  assert settled > 5, out  # it did load the lazily importing modules (tensorflow_datasets' core among them)
  assert out.strip().endswith("then:"), out


def test_device_synthesis_takes_every_nth_batch_from_the_rendered_datasets(tfds_dir, device_assets, tmp_path):
  """data.device.tfds_every=2: steps 2, 4, ... train on the host pipeline's batches 0, 1, ... of data.train, the
  others on the device's batch of that step; both have the same arrays, a resumed run gets the same batches, and the
  train step runs on either."""
  from pianojax import settings

  config = settings.apply_overrides(
    device_assets, [("data.tfds_dir", str(tfds_dir)), ("data.device.tfds_every", 2), ("train.steps", 4)]
  )
  settings.validate(config)
  mesh = mesh_lib.data_mesh(jax.devices()[:2])
  batches = [jax.device_get(b) for b in trainer.training_batches(config, mesh, 0, log=lambda *_: None)]
  assert len(batches) == 4
  host = [jax.device_get(b) for b in trainer._host_batches(config, mesh, 0, 2)]
  plain = settings.apply_overrides(config, [("data.device.tfds_every", 0)])
  device = [jax.device_get(b) for b in trainer.training_batches(plain, mesh, 0, log=lambda *_: None)]
  for step, batch in enumerate(batches, start=1):
    expected = host[step // 2 - 1] if step % 2 == 0 else device[step - 1]
    assert batch.keys() == expected.keys() == device[0].keys()
    for k in batch:
      assert batch[k].shape == device[0][k].shape and batch[k].dtype == device[0][k].dtype, k
      np.testing.assert_array_equal(batch[k], expected[k], err_msg=f"step {step}: {k}")
  assert not np.array_equal(batches[1]["audio"], device[1]["audio"])  # step 2 is the host's, not the device's
  resumed = [jax.device_get(b) for b in trainer.training_batches(config, mesh, 2, log=lambda *_: None)]
  for a, b in zip(resumed, batches[2:], strict=True):
    np.testing.assert_array_equal(a["audio"], b["audio"])
  trainer.train_and_evaluate(config, str(tmp_path), log=lambda *_: None)
  logged = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
  assert [r["step"] for r in logged if "loss/total" in r][-1] == 4
