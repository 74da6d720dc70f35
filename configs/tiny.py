"""A tiny CPU variant of the default config, used by the demo and the tests."""

from configs import default


def get_config():
  config = default.get_config()
  config.frontend.n_fft = 1024
  config.frontend.win_length = 1024
  config.frontend.hop_length = 320  # 20 ms frames keep the CPU demo quick
  config.frontend.n_mels = 96
  config.data.segment_frames = 128
  config.data.segment_hop_frames = 64
  config.data.synth.sizes = {"train": 24, "validation": 4, "test": 4}
  config.data.synth.example_seconds = 4.0
  return config
