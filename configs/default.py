"""The root configuration: every field, each research question among them, so an ablation is one `--config.x=y`
flag.

The question fields sit at the reference values the questions started from (Onsets and Frames' 229 log-mel bands,
the classification objective, spectrogram masking); the recipes that train models set the answers
(docs/ABLATIONS.md): configs/pretrained.py (the shipped CPU model's recipe) and configs/large.py (the GPU job's).
configs/tiny.py (the demo and the tests) builds on this file directly.
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
  fe.representation = "mel"  # linear | mel | mfcc | logfreq
  fe.band = "piano"  # full | piano (A0 .. C8 x harmonic_headroom)
  fe.harmonic_headroom = 2.0
  fe.n_mels = 229
  fe.mel_scale = "slaney"  # slaney | htk
  fe.n_mfcc = 40
  fe.bins_per_octave = 24  # logfreq: filter centres per octave
  fe.log = "log"  # none | log | db
  fe.log_floor = 1e-5
  fe.top_db = ml_collections.FieldReference(None, field_type=float)
  fe.normalize = "none"  # none | example | example_bin | floor (each bin's noise floor subtracted, then example)
  # Spectral subtraction before the log (0: off): each band's noise level (its denoise_quantile over the example's
  # frames) x denoise taken off its power; a clean recording keeps its features (pianojax/frontend.py, `denoise`).
  fe.denoise = 0.0
  fe.denoise_quantile = 0.1
  fe.framing = "frame"  # frame | beat (beat-synchronous pooling of frames)
  fe.max_beats = 64  # beat intervals per example when framing == "beat"

  config.objective = "classification"  # classification | regression

  config.model = model = ml_collections.ConfigDict()
  model.dtype = "bfloat16"  # compute dtype; parameters stay float32
  model.stem_channels = 48
  model.stem_freq_stride = 2
  model.block_layers = (4, 4, 4)
  model.growth = 48
  model.bottleneck = 4
  model.compression = 0.5
  model.dropout = 0.0
  model.context = "conv"  # none | conv (dilated, residual) | bigru
  model.context_width = 256
  model.context_dilations = (1, 2, 4, 8)
  # The note-end heads (frame, offset, key release, pedal) read a temporal context of their own with these
  # dilations instead of sharing the onset heads' (docs/MODEL.md, "Session 11").
  model.end_context = False
  model.end_dilations = (1, 2, 4, 8, 16, 32)
  # The sustain-pedal heads read a context of their own too (end_dilations; started from the note-end one by
  # init_from), so the pedal can be trained apart from the key releases (train.freeze=all_but_pedal).
  model.pedal_context = False
  # Key-release and sustain-pedal heads (docs/MODEL.md "Note ends and the pedal"): the note heads keep
  # data.offset_mode's offsets (how long a string sounds); these add where each key is let go and where the
  # sustain pedal goes down and up, so a transcription carries the pedal as CC64 events.
  model.pedal = True
  # The velocity head also sees the features before per-example normalisation (the level it removes); needs
  # waveform inputs (data.precomputed=False).
  model.velocity_level = False
  # A head that finds the other instruments' onsets (88 keys, beside the piano's, from the same context): training
  # tells the network which notes in a mixture are not the piano's. Needs data.source=device (which knows every
  # accompaniment note); trained at loss.others_weight; the transcription never reads it.
  model.others_head = False
  # 0, or a second input channel: the features read through a window of this many samples (512: 32 ms, against the
  # frontend's 2,048), where onsets are sharp in time (docs/ABLATIONS.md, "A short window beside the long one").
  # Started from a model without it (init_from), the stem's kernel for it starts at zero.
  model.short_window = 0
  # More input channels, one per harmonic number h (e.g. 0.5,2,3,4,5): at each bin the features at h x its frequency,
  # so the stem's 3x3 kernel at a pitch reads its partials together (a harmonic spectrogram, as Basic Pitch's).
  # Started from a model without them (init_from), the stem's kernel for them starts at zero.
  model.harmonics = ()
  # 0, or one more input channel: the features' power through per-channel energy normalisation (PCEN, Wang et al.
  # 2017) with this time constant in seconds: each bin against its own recent level, so what holds steady (a held
  # accompaniment note, noise) fades and onsets stand out. From a model without it (init_from), it starts at zero.
  model.pcen = 0.0
  # Two stages (docs/ABLATIONS.md, "Two stages"): 1 = the transcriber reads the mixture; 2 = a separator first maps
  # the mixture's spectrogram to the clean piano's (the research notes' "regression"), the transcriber reads that.
  model.stages = 1
  model.separator = sep = ml_collections.ConfigDict()  # stage 1 (pianojax/separation.py): a DenseNet U-Net
  sep.channels = 16
  sep.levels = 2  # frequency halved this many times
  sep.layers = 2  # dense layers per block
  sep.growth = 8

  # Loss weights and decoding.
  config.loss = loss = ml_collections.ConfigDict()
  loss.onset_weight = 1.0
  loss.offset_weight = 0.5
  loss.frame_weight = 1.0
  loss.velocity_weight = 0.5
  loss.release_weight = 0.5  # key-release frame + offset heads (model.pedal)
  # False: the key-release heads are not trained where a key was let go under the sustain pedal (inaudible until the
  # pedal lifts; labels.py's `key_audible`), only on the releases the damper makes heard.
  loss.pedalled_releases = True
  # Sustain-pedal frame + onset/offset heads (model.pedal). The pedal is one output per frame and its BCE a mean over
  # frames, where every note head's is a mean over frames and 88 keys: at weight w the pedal weighs 88 w keys. At 0.5
  # (its value until 2026-12-05) it took over the shared network: the small ablation model's onset F1 fell from 64
  # to 15 (docs/ABLATIONS.md, "The sustain-pedal loss"). 0.5 / 88: the pedal weighs half a key.
  loss.pedal_weight = 0.5 / 88
  loss.others_weight = 0.5  # the other instruments' onset head (model.others_head)
  # Extra weight on the piano onset head's "no onset" where another instrument starts a note on the same key (its
  # onset's triangle, data.regression_frames wide): 0 = none, w = (1 + w) times there. The accompaniment's onsets are
  # the mixtures' false positives; needs data.source=device, which knows them.
  loss.others_negative_weight = 0.0
  # The network's own outputs on the piano alone (device synthesis knows it: the same room, EQ and level, no other
  # instruments, no noise) as soft targets for its outputs on the mixture, at this weight (0: off; objectives.py's
  # "teacher" term). One more forward pass per step, not trained through. Needs data.source=device.
  loss.clean_teacher = 0.0
  loss.event_pos_weight = 5.0  # positive-class weight in the onset/offset BCE (events are rare)
  loss.frame_pos_weight = 1.0  # positive-class weight in the frame BCE
  config.decode = dec = ml_collections.ConfigDict()
  dec.onset_threshold = 0.5
  dec.frame_threshold = 0.5
  dec.offset_threshold = 0.5
  dec.min_note_ms = 30.0
  dec.release_threshold = 0.5  # key-release frame probability below which a key is up (model.pedal)
  dec.pedal_threshold = 0.5  # sustain-pedal frame probability above which the pedal is down (model.pedal)
  dec.min_repeat_ms = 70.0  # two onset peaks of one key closer than this are one attack (regression decoding)
  dec.end_confirm_threshold = 0.0  # an end event counts where the frame probability falls below this within 100 ms
  dec.end_events = "peak"  # a classification end event falls on its run's highest frame ("rise": the first)
  dec.sounding_ends = "frames"  # a sounding note ends at the later of the frame heads' end and the pedalled release

  # Inference only (transcribe, eval, tune; stored by export): how long audio is cut and its level.
  config.inference = inf = ml_collections.ConfigDict()
  inf.segment_hop_frames = 320  # segments of data.segment_frames every this many frames (here half a segment)
  # Scale each file so its peak is at this many dBFS (None: as recorded). Training examples peak between
  # -12 and -1 dBFS (+- the gain augmentation); real recordings are often much quieter.
  inf.input_peak_db = ml_collections.FieldReference(-6.0, field_type=float)

  config.optim = optim = ml_collections.ConfigDict()
  optim.optimizer = "adamw"
  optim.learning_rate = 1e-3
  optim.warmup_steps = 200
  optim.schedule = "cosine"  # cosine | constant
  optim.weight_decay = 1e-4
  optim.grad_clip = 1.0

  config.train = train = ml_collections.ConfigDict()
  train.batch_size = 32  # global, split over all devices
  train.steps = 20000
  train.log_every = 50
  train.eval_every = 1000
  train.checkpoint_every = 1000
  train.keep_checkpoints = 3
  train.eval_datasets = ("chords", "mixtures")  # validation splits evaluated during training
  train.eval_max_records = 16
  train.data_threads = 8
  # Stop when a logged loss exceeds this many times the lowest logged so far (0: never); a checkpoint is
  # written only after the steps before it were checked (finite, not diverged).
  train.divergence_factor = 10.0
  # none | notes: train only the note-end branch (model.end_context): the DenseNet, the shared context and the
  # onset head keep their starting weights (init_from), the first two run as at inference: the onsets stay put.
  # all_but_pedal: only the pedal context and heads (model.pedal_context) train; no other output moves.
  train.freeze = "none"
  train.time_limit_s = 0.0  # stop (evaluated, checkpointed) after this many seconds of training (0: no limit)
  config.init_from = ""  # a checkpoint (dir or step dir) to start from: pretrain -> fine-tune

  # Training a two-stage model (model.stages=2); needs the clean piano stem: data.source=device.
  config.separation = st = ml_collections.ConfigDict()
  st.train = "joint"  # separator (stage 1 alone) | transcriber (stage 2 alone, stage 1 fixed) | joint (end to end)
  st.transcriber_input = "separated"  # what stage 2 reads in training: separated (stage 1's output) | clean
  st.loss = "l1_log"  # l1_log | l2_log | l1_mag | l2_mag | mask (pianojax/separation.py)
  st.weight = 1.0  # the separation loss's weight next to the transcription loss (joint)
  st.floor = 1e-4  # added to the power before the log in the l1_log / l2_log losses and the mask's ratio
  # Per-stage starting points (the notes' curriculum: a transcriber trained on clean piano first): a checkpoint of
  # a two-stage model (its stage) or, for the transcriber, of a one-stage model with the same frontend and heads.
  st.separator_from = ""
  st.transcriber_from = ""

  # How long signals become examples.
  config.data = data = ml_collections.ConfigDict()
  data.segment_frames = 640  # 6.4 s at a 10 ms hop
  data.offset_mode = "pedal"  # pedal (sustain-extended offsets, as MAESTRO) | key (key release)
  data.regression_frames = 5  # half-width of the onset/offset regression triangles
  data.tfds_dir = "outputs/tfds"
  # False: waveforms in, the frontend runs inside the jitted step (any frontend flag works without
  # rebuilding data). True: train on stored features (datasets.precomputed; no waveform augmentation).
  data.precomputed = False
  data.maestro_dir = ""  # a MAESTRO-layout folder, for the `maestro` dataset
  # Training mixture: dataset names and their sampling weights.
  data.train = ("notes", "chords", "others", "mixtures", "performances")
  data.train_weights = (1.0, 2.0, 1.0, 3.0, 4.0)

  data.synth = synth = ml_collections.ConfigDict()
  synth.sizes = {"train": 512, "validation": 16, "test": 16}
  synth.example_seconds = 10.0
  synth.train_soundfonts = ("fluidr3", "timgm6mb", "csound", "fluidr3mono")
  synth.test_soundfonts = ("musescore",)  # held-out piano
  synth.midi_dir = ""  # real performance MIDI to render, e.g. ../shared/midi (any folder)
  synth.reverb = True
  synth.seed = 0

  # Where training audio comes from: "tfds" (the rendered datasets above, through the host pipeline) or "device"
  # (synthesised inside the training loop from sample banks: pianojax/synth/device.py; the TFDS datasets then serve
  # validation and test only). `--mode=build_data` builds what the source needs.
  data.source = "tfds"
  data.device = dev = ml_collections.ConfigDict()
  dev.assets_dir = "outputs/device"  # sample banks and packed performances (data.synth.midi_dir's training split)
  dev.performances = ""  # a packed-performances file to use instead of packing data.synth.midi_dir (GPU hosts)
  dev.pianos = ("fluidr3", "timgm6mb", "csound", "fluidr3mono")  # SoundFonts or sample folders; test pianos stay out
  dev.pitch_step = 3  # a recorded note every this many semitones
  dev.velocities = (40, 80, 115)  # velocity layers recorded
  dev.piano_seconds = 4.0  # stored length of a bass note from its attack ...
  dev.treble_seconds = 2.0  # ... tapering to this at the top
  # accompaniment: (family, GM program) from each of `others_sources`, a note every 4 semitones of the family's range
  dev.others = (
    ("guitar", 25),
    ("bass", 33),
    ("strings", 48),
    ("brass", 61),
    ("reed", 65),
    ("pipe", 73),
    ("organ", 19),
    ("synth", 81),
  )
  dev.others_sources = ("fluidr3",)  # SoundFonts that play the accompaniment (every bank: each family from each)
  dev.others_pitch_step = 4
  dev.others_seconds = 2.5
  dev.materials = ("notes", "chords", "sequences", "performances")  # performances: windows of data.synth.midi_dir
  dev.material_weights = (1.0, 2.0, 2.0, 4.0)
  dev.others_prob = 0.3  # piano with other instruments (and noise, 80% of those): the mixtures material
  # Share of those whose other instruments get an EQ of their own (a tilt and two peaking bands from variety's
  # ranges) before they meet the piano: their timbres vary beyond the few SoundFonts that play them.
  dev.others_eq = 0.0
  # Share of those whose other instruments play along with the piano (generators.doubling: some of its notes, moved
  # by octaves into each instrument's range, at its onsets) instead of melody lines of their own.
  dev.others_coupled = 0.0
  # ... of those parts, the share that plays as an ensemble part does (generators.following: a bass line on the lowest
  # sounding note, held or strummed chords of the sounding pitch classes, entering at the piano's onsets); the rest
  # double some of the piano's notes.
  dev.others_following = 0.0
  dev.others_db = (-12.0, 3.0)  # the other instruments' level against the piano's (RMS), uniform in this range, dB
  # Every this many steps (0: never) a batch of the rendered datasets in data.train (FluidSynth playing whole
  # SoundFonts, through the host pipeline; `--mode=build_data` builds them) instead of a synthesised one.
  dev.tfds_every = 0
  dev.alone_prob = 0.05  # other instruments alone, no piano (empty labels)
  dev.max_notes = 192  # note slots per example (a performance window with more is masked from the first left out)
  dev.max_pairs = 1024  # (note, block) pairs rendered per example on average, shared by the batch (synth/playback.py)
  dev.block = 1024  # samples per playback block
  dev.variety_on = True  # domain randomisation (synth/variety.py); False: one plain piano per example
  dev.variety = var = ml_collections.ConfigDict()
  var.two_pianos_prob = 0.3  # a second piano plays 20-50% of the notes
  # tuning: at most detune + stretch + jitter = 33 cents off equal temperament at A4 = 440 Hz (a third of a semitone,
  # the frontend's bin spacing); session 9's first variety run allowed 25 + 46 + 4 at A0
  var.detune_cents = 15.0  # whole piano (A4 = 436-444 Hz), +-
  var.stretch_cents = 15.0  # octave stretch: + this at the top key, - this at the bottom, cubic between; 0..this
  var.jitter_cents = 3.0  # per note, +-
  var.velocity_curve = (0.6, 1.6)  # exponent of (velocity / layer velocity), log-uniform
  var.release_seconds = (0.05, 0.3)  # damper time constant, log-uniform
  var.plain_release_seconds = 0.12  # ... with variety_on=False (synth/sampler.py's)
  var.tilt_db = 3.0  # spectral tilt per octave, +-
  var.eq_db = 6.0  # two peaking bands, +-
  var.reverb_prob = 0.8
  var.rt60 = (0.2, 1.5)
  var.wet = (0.05, 0.45)
  var.mic_noise_prob = 0.5
  var.mic_snr_db = (20.0, 50.0)
  var.hum_prob = 0.15
  var.hum_db = (-45.0, -25.0)
  var.drift_depth = 0.3  # slow level drift, gain 1 +- this

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
