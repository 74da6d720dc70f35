"""Default configuration: the model we train on a GPU.

Every research question is a field here, so an ablation is one `--config.x=y` flag.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0

  # The frontend runs inside the jitted forward pass (pianojax.frontend.FrontendSpec).
  config.frontend = fe = ml_collections.ConfigDict()
  fe.sample_rate = 16000
  fe.n_fft = 2048
  fe.win_length = 2048  # samples; 320..640 is the 20-40 ms window of the research notes
  fe.hop_length = 160  # 10 ms
  fe.window = "hann"
  fe.center = True
  fe.pad_mode = "constant"
  fe.power = 2.0
  fe.representation = "mel"  # linear | mel | mfcc
  fe.band = "piano"  # full | piano (A0 .. C8 x harmonic_headroom)
  fe.harmonic_headroom = 2.0
  fe.n_mels = 229
  fe.mel_scale = "slaney"  # slaney | htk
  fe.n_mfcc = 40
  fe.log = "log"  # none | log | db
  fe.log_floor = 1e-5
  fe.top_db = ml_collections.FieldReference(None, field_type=float)
  fe.normalize = "none"  # none | example | example_bin
  fe.framing = "frame"  # frame | beat (beat-synchronous pooling of frames)
  fe.max_beats = 64  # beat intervals per example when framing == "beat"

  # How long signals become examples.
  config.data = data = ml_collections.ConfigDict()
  data.segment_frames = 640  # 6.4 s at a 10 ms hop
  data.segment_hop_frames = 320  # hop of half a segment
  data.stitch = "center"  # center | mean
  return config
