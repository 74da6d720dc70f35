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
  data.offset_mode = "pedal"  # pedal (sustain-extended offsets, as MAESTRO) | key (key release)
  data.regression_frames = 5  # half-width of the onset/offset regression triangles
  data.tfds_dir = "outputs/tfds"
  data.maestro_dir = ""  # a MAESTRO-layout folder, for the `maestro` dataset
  # Training mixture: dataset names and their sampling weights.
  data.train = "notes,chords,others,mixtures,performances"
  data.train_weights = "1,2,1,3,4"

  data.synth = synth = ml_collections.ConfigDict()
  synth.sizes = {"train": 512, "validation": 16, "test": 16}
  synth.example_seconds = 10.0
  synth.train_soundfonts = ("fluidr3", "timgm6mb", "csound", "fluidr3mono")
  synth.test_soundfonts = ("musescore",)  # held-out piano
  synth.midi_dir = ""  # real performance MIDI to render, e.g. ../shared/midi (any folder)
  synth.reverb = True
  synth.seed = 0

  # Host-side waveform augmentation (labels follow); spectrogram masking runs on device.
  data.augment = aug = ml_collections.ConfigDict()
  aug.gain_db = 6.0  # uniform in +-gain_db
  aug.noise_prob = 0.3
  aug.noise_snr_db = (10.0, 40.0)
  aug.pitch_shift = 2  # whole semitones, +-
  aug.detune_cents = 20.0  # +-
  aug.time_stretch_prob = 0.0
  aug.time_stretch = (0.9, 1.1)
  aug.mixup_prob = 0.1
  aug.spec_time_masks = 2
  aug.spec_time_width = 20
  aug.spec_freq_masks = 2
  aug.spec_freq_width = 12
  return config
