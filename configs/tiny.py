"""A tiny CPU variant of the default config, used by the demo and the tests."""

from configs import default


def get_config():
  config = default.get_config()
  config.frontend.n_fft = 1024
  config.frontend.win_length = 1024
  config.frontend.hop_length = 320  # 20 ms frames keep the CPU demo quick
  config.frontend.n_mels = 96
  config.data.segment_frames = 128
  config.inference.segment_hop_frames = 64
  config.data.synth.sizes = {"train": 48, "validation": 4, "test": 4}
  config.data.synth.example_seconds = 4.0
  config.model.dtype = "float32"
  config.model.stem_channels = 16
  config.model.block_layers = (2, 2)
  config.model.growth = 12
  config.model.bottleneck = 2
  config.model.context_width = 64
  config.model.context_dilations = (1, 2)
  config.train.batch_size = 8
  config.train.steps = 1000
  config.train.log_every = 100
  config.train.eval_every = 1000
  config.train.checkpoint_every = 500
  config.train.eval_max_records = 4
  config.train.data_threads = 2
  config.optim.warmup_steps = 50
  config.optim.learning_rate = 5e-3
  config.frontend.normalize = "example_bin"
  config.loss.frame_pos_weight = 3.0
  config.loss.event_pos_weight = 10.0
  config.data.train = ("notes", "chords", "mixtures", "performances")
  config.data.train_weights = (1.0, 2.0, 1.0, 2.0)
  config.train.eval_datasets = ("chords", "performances")
  return config
