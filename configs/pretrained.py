"""The shipped default model (models/default): a CPU-budget transcriber trained on the synthetic data.

Designed for the 2-core CPU: about 0.3 GFLOP of forward compute per audio second (the
Basic Pitch class of model), 20 ms frames, a log-frequency filterbank over the piano's band
(203 bins: every STFT bin below ~400 Hz, three per semitone above; the first shipped model used
160 mel bands, which merge several semitones in the bass). Onsets as regression triangles
with ends as classification events (the hybrid objective), the note-end branch, and no spectrogram masking: each a
real gain in docs/ABLATIONS.md. Trained on
every synthetic material (four SoundFont pianos; MuseScore General's grand is held out for
the test splits), with the real performance MIDI of ../shared/midi where given:

  python launch.py --mode=build_data --config=configs/pretrained.py \
    --config.data.synth.midi_dir=../shared/midi
  python launch.py --mode=train --config=configs/pretrained.py \
    --config.data.synth.midi_dir=../shared/midi --workdir=outputs/pretrained

docs/MODEL.md records the run that produced models/default. That model predates four fields set here (the
key-release and pedal heads, the level input to the velocity head, context dilations up to 32, the note-end
branch; its checkpoint stores its own config): this config is the recipe of session 7's pedal model (docs/MODEL.md,
"Note ends and the sustain pedal") with the note-end branch trained from the start (docs/ABLATIONS.md, the working
sweep), not yet trained in full.
"""

from configs import default


def get_config():
  config = default.get_config()
  fe = config.frontend
  fe.n_fft = 2048
  fe.win_length = 2048
  fe.hop_length = 320  # 20 ms frames
  fe.representation = "logfreq"
  fe.bins_per_octave = 36
  fe.normalize = "example"  # per-example scalar: removes gain, keeps the spectral shape

  # Onsets (notes, pedal presses) as Kong et al.'s triangles, ends (offsets, key releases, pedal releases) as
  # classification events: in the working sweep +3.3 onset F1 and +12.9 onset+offset F1 over regression throughout
  # (docs/ABLATIONS.md, row hybrid; models/default, trained with "regression", moved to it in session 16).
  config.objective = "hybrid"

  model = config.model
  model.dtype = "float32"
  model.stem_channels = 16
  model.stem_freq_stride = 2
  model.block_layers = (3, 3)
  model.growth = 16
  model.bottleneck = 2
  model.context = "conv"
  model.context_width = 128
  model.context_dilations = (1, 2, 4, 8, 16, 32)  # +-1.3 s of context: note ends and the pedal span seconds
  model.pedal = True  # key-release and sustain-pedal heads
  # The note-end heads read a temporal context of their own: at equal training compute, +6.2 points of onset F1
  # and +6.2 of onset+offset F1 in the working sweep (docs/ABLATIONS.md, row end_branch_equal_compute).
  model.end_context = True
  model.velocity_level = True  # per-example normalisation removes the level: the velocity head gets it back

  data = config.data
  data.segment_frames = 256  # 5.12 s
  config.inference.segment_hop_frames = 128
  data.train = ("notes", "chords", "others", "mixtures", "performances")
  data.train_weights = (1.0, 2.0, 1.0, 2.0, 4.0)
  data.augment.spec_time_masks = 0
  data.augment.spec_freq_masks = 0
  data.synth.sizes = {"train": 600, "validation": 16, "test": 16}
  data.synth.example_seconds = 10.0

  config.loss.frame_pos_weight = 2.0
  config.loss.event_pos_weight = 8.0

  config.optim.learning_rate = 3e-3
  config.optim.warmup_steps = 200

  train = config.train
  train.batch_size = 8
  train.steps = 2400  # docs/MODEL.md: the first 1,000 steps ran under a 3,000-step schedule; then a fine-tune stage
  train.log_every = 100
  train.eval_every = 1000
  train.checkpoint_every = 500
  train.keep_checkpoints = 2
  train.eval_datasets = ("chords", "performances")
  train.eval_max_records = 6
  train.data_threads = 2
  return config
