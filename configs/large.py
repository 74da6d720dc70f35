"""The large model (models/large, when a GPU lease has trained one): configs/pretrained.py's recipe (log-frequency
frontend, hybrid objective, note-end branch, key-release and pedal heads) with a wider, deeper DenseNet in
bfloat16, trained from device synthesis (no stored dataset) at GPU batch sizes, with the accompaniment of the
shipped model's last recipes (configs/ensembles.py: half the examples accompanied, 70% of those by parts that play
with the piano, at -6 to +3 dB against it; +2.8 onset F1 with such accompaniment, docs/ABLATIONS.md "Ensembles"),
played by the eight FluidR3 instruments that fit a device call (93 banks against 8 moved nothing: "Accompaniment").
`scripts/gpu_job.sh` runs it in one device call:

  bash scripts/gpu_prepare.sh            # here, on the CPU: assets, packs, wheels
  bash scripts/gpu_job.sh OUT            # on the GPU host, with outputs/gpu and .whl carried
"""

from configs import pretrained


def get_config():
  config = pretrained.get_config()
  model = config.model
  model.dtype = "bfloat16"
  model.stem_channels = 48
  model.block_layers = (4, 4, 4)
  model.growth = 48
  model.bottleneck = 4
  model.context_width = 256

  config.data.source = "device"
  dev = config.data.device
  dev.others_prob = 0.5
  dev.others_coupled = 0.7
  dev.others_following = 0.5
  dev.others_db = (-6.0, 3.0)
  config.train.batch_size = 64
  config.train.steps = 20000
  config.optim.learning_rate = 2e-3
  config.optim.warmup_steps = 300
  config.train.log_every = 100
  config.train.eval_every = 100000  # evaluation runs after training (the GPU host has no TFDS)
  config.train.checkpoint_every = 1000
  config.train.eval_datasets = ()
  return config
