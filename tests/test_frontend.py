"""The jitted frontend against librosa, jit vs eager, band and shape checks."""

import dataclasses

import jax
import librosa
import numpy as np
import pytest

from pianojax import audio_io, frontend

CONFIGS = {
  "default": frontend.FrontendSpec(),
  "short_window_htk_piano": frontend.FrontendSpec(
    n_fft=1024, win_length=512, hop_length=256, n_mels=128, mel_scale="htk", band="piano"
  ),
  "reflect_hamming_22k": frontend.FrontendSpec(
    sample_rate=22050, n_fft=2048, win_length=882, hop_length=441, window="hamming", pad_mode="reflect", n_mels=96
  ),
  "magnitude_no_center": frontend.FrontendSpec(n_fft=512, hop_length=128, center=False, power=1.0, n_mels=64),
}


def filtered(audio, spec):
  """The filterbank's output before compression: what `features` compresses."""
  return frontend.apply_filterbank(frontend.spectrogram(audio, spec), spec)


def rel_err(a, b):
  return float(np.linalg.norm(np.asarray(a, np.float64) - b) / np.linalg.norm(b))


def random_audio(spec, seconds=1.3, seed=0):
  rng = np.random.default_rng(seed)
  return (0.2 * rng.standard_normal(int(seconds * spec.sample_rate))).astype(np.float32)


@pytest.fixture(scope="module")
def real_audio(maestro_wav):
  return audio_io.load_audio(maestro_wav, 16000)


def librosa_power(y, spec):
  z = librosa.stft(
    y.astype(np.float64),
    n_fft=spec.n_fft,
    hop_length=spec.hop_length,
    win_length=spec.win_length,
    window=spec.window,
    center=spec.center,
    pad_mode=spec.pad_mode,
  )
  return (np.abs(z) ** spec.power).T


def librosa_mel(y, spec):
  basis = librosa.filters.mel(
    sr=spec.sample_rate,
    n_fft=spec.n_fft,
    n_mels=spec.n_mels,
    fmin=spec.fmin,
    fmax=spec.fmax,
    htk=spec.mel_scale == "htk",
    dtype=np.float64,
  )
  return librosa_power(y, spec) @ basis.T


def check_against_librosa(y, spec):
  fn = jax.jit(frontend.spectrogram, static_argnums=1)
  ours = np.asarray(fn(y[None], spec))[0]
  ref = librosa_power(y, spec)
  assert ours.shape == ref.shape == (spec.num_frames(len(y)), spec.n_fft // 2 + 1)
  assert rel_err(ours, ref) <= 1e-4

  mel = np.asarray(jax.jit(filtered, static_argnums=1)(y[None], spec))[0]
  ref_mel = librosa_mel(y, spec)
  assert rel_err(mel, ref_mel) <= 1e-4

  # Log-mel with the floor 1e-5 (natural log): within 1e-3 at every frame and band.
  log_spec = dataclasses.replace(spec, log="log", log_floor=1e-5)
  log_mel = np.asarray(jax.jit(frontend.features, static_argnums=1)(y[None], log_spec))[0]
  np.testing.assert_allclose(log_mel, np.log(np.maximum(ref_mel, 1e-5)), atol=1e-3, rtol=0)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_matches_librosa_on_random_audio(name):
  spec = CONFIGS[name]
  check_against_librosa(random_audio(spec), spec)


@pytest.mark.parametrize("name", ["default", "short_window_htk_piano"])
def test_matches_librosa_on_real_piano(real_audio, name):
  check_against_librosa(real_audio, CONFIGS[name])


def test_mfcc_and_db_match_librosa(real_audio):
  spec = frontend.FrontendSpec(representation="mfcc", log="db", log_floor=1e-10, n_mfcc=20, band="piano")
  ours = np.asarray(jax.jit(frontend.features, static_argnums=1)(real_audio[None], spec))[0]
  db = librosa.power_to_db(librosa_mel(real_audio, spec).T, ref=1.0, amin=1e-10, top_db=None)
  ref = librosa.feature.mfcc(S=db, n_mfcc=20).T
  assert ours.shape == ref.shape
  assert rel_err(ours, ref) <= 1e-4

  db_spec = dataclasses.replace(spec, representation="mel", top_db=80.0, log_floor=1e-10)
  ours_db = np.asarray(frontend.features(real_audio[None], db_spec))[0]
  ref_db = librosa.power_to_db(librosa_mel(real_audio, spec).T, ref=1.0, amin=1e-10, top_db=80.0).T
  np.testing.assert_allclose(ours_db, ref_db, atol=2e-3, rtol=0)


@pytest.mark.parametrize("representation", ["linear", "mel", "mfcc", "logfreq"])
def test_jit_equals_eager_and_batches(representation):
  spec = frontend.FrontendSpec(representation=representation, normalize="example", band="piano")
  batch = np.stack([random_audio(spec, seed=s) for s in range(3)])
  eager = np.asarray(frontend.features(batch, spec))
  jitted = np.asarray(jax.jit(frontend.features, static_argnums=1)(batch, spec))
  blocked = np.asarray(jax.jit(lambda a: frontend.features(a, spec, frame_block=16))(batch))
  np.testing.assert_allclose(jitted, eager, atol=1e-4, rtol=1e-4)
  np.testing.assert_allclose(blocked, eager, atol=1e-4, rtol=1e-4)
  single = np.asarray(frontend.features(batch[1:2], spec))
  np.testing.assert_allclose(single[0], eager[1], atol=1e-4, rtol=1e-4)
  assert eager.shape == (3, spec.num_frames(batch.shape[1]), spec.n_bins)
  # Per-example normalisation: each example has zero mean and unit variance.
  np.testing.assert_allclose(eager.mean(axis=(1, 2)), 0, atol=1e-4)
  np.testing.assert_allclose(eager.std(axis=(1, 2)), 1, atol=1e-3)


def test_floor_normalisation_flattens_stationary_noise_and_keeps_a_note():
  """normalize="floor": loud white noise with a short tone in it. Per example the noise's spectral shape stays in
  every bin's level; with each bin's floor taken out the bins without the tone sit level with each other, and the
  tone stands out of its bins further than before."""
  spec = frontend.FrontendSpec(representation="logfreq", band="piano", hop_length=320, bins_per_octave=36)
  rng = np.random.default_rng(0)
  t = np.arange(3 * 16000) / 16000
  noise = np.cumsum(rng.standard_normal(t.size)) * 0.01  # red noise: 6 dB per octave down
  tone = np.sin(2 * np.pi * 440 * t) * ((t > 1.0) & (t < 1.4)) * 0.2
  audio = (noise - noise.mean() + tone).astype(np.float32)[None]
  tone_bins = np.argsort(np.asarray(frontend.features(tone.astype(np.float32)[None], spec))[0].max(axis=0))[-3:]
  out = {}
  for mode in ("example", "floor"):
    x = np.asarray(frontend.features(audio, dataclasses.replace(spec, normalize=mode)))[0]
    quiet = np.delete(x, tone_bins, axis=1)
    frames = spec.num_frames(audio.shape[1])
    during = slice(int(1.1 * frames / 3), int(1.3 * frames / 3))
    out[mode] = (np.median(quiet, axis=0).std(), x[during, tone_bins].mean() - np.median(x[:, tone_bins]))
    np.testing.assert_allclose([x.mean(), x.std()], [0, 1], atol=1e-3)
  # the noise's slope across bins is gone; what is left is how far each bin's median sits above its floor, wider where
  # a bin is one STFT bin (the bass) than where it averages many
  assert out["floor"][0] < 0.5 * out["example"][0], out
  assert out["floor"][1] > out["example"][1] > 0  # the note stands out further


def _tone_in_noise(noise_scale: float, seconds: float = 4.0, tone_span=(1.0, 2.0), silent_after=None):
  """A 440 Hz tone over `tone_span` seconds in white noise (`noise_scale` x unit RMS), zeros after `silent_after`."""
  rng = np.random.default_rng(0)
  t = np.arange(int(seconds * 16000)) / 16000
  audio = noise_scale * rng.standard_normal(t.size) + 0.2 * np.sin(2 * np.pi * 440 * t) * (
    (t > tone_span[0]) & (t < tone_span[1])
  )
  if silent_after is not None:
    audio[t >= silent_after] = 0.0
  return audio.astype(np.float32)[None]


DENOISE_SPEC = frontend.FrontendSpec(representation="logfreq", band="piano", hop_length=320, bins_per_octave=36)


def _tone_band(spec):
  return int(np.argmax(np.asarray(frontend.features(_tone_in_noise(0.0), spec))[0].max(axis=0)))


@pytest.mark.parametrize("frame_block", [None, 32])
def test_denoise_removes_stationary_noise_and_keeps_a_tone(frame_block):
  """frontend.denoise: white noise 20 dB under a tone. Spectral subtraction takes the noise bands down to the floor
  (DENOISE_FLOOR of their level: ln 0.01 = -4.6) in most frames and leaves the tone's band where the tone plays; a
  near-silent background keeps the tone's features; 0 is off (the features as before, bit for bit)."""
  spec = DENOISE_SPEC
  on = dataclasses.replace(spec, denoise=2.0, denoise_quantile=0.3)
  noisy = _tone_in_noise(0.02)
  frames = spec.num_frames(noisy.shape[1])
  during = slice(int(1.2 * frames / 4), int(1.8 * frames / 4))
  tone = _tone_band(spec)
  plain = np.asarray(frontend.features(noisy, spec, frame_block))[0]
  cleaned = np.asarray(frontend.features(noisy, on, frame_block))[0]
  far = np.array([abs(b - tone) > 12 for b in range(spec.n_bins)])
  drop = np.median(plain - cleaned, axis=0)
  # In its median frame every noise band is 1 nat (4 dB) quieter or more: a band of one STFT bin, whose noise power
  # swings frame to frame (exponentially distributed), keeps the peaks above twice its 30% level; a band pooling 8
  # bins or more swings less and sits at the floor, 4 nats (17 dB) or more down.
  pooled = (frontend.logfreq_filterbank(spec) > 0).sum(axis=0) >= 8
  assert drop[far].min() > 1.0, drop[far].min()
  assert drop[far & pooled].min() > 4.0, drop[far & pooled].min()
  assert np.abs(cleaned[during, tone] - plain[during, tone]).max() < 0.05  # the tone is where it was
  clean = _tone_in_noise(1e-4)  # a quiet room: the tone 63 dB over the noise
  before = np.asarray(frontend.features(clean, spec, frame_block))[0][during]
  after = np.asarray(frontend.features(clean, on, frame_block))[0][during]
  sounding = before > np.log(spec.log_floor) + 3  # the tone's partials and skirts, not the noise at the log's floor
  assert sounding.sum() > 100
  np.testing.assert_allclose(after[sounding], before[sounding], atol=0.1)  # (skirts 20 dB over the noise move most)
  np.testing.assert_array_equal(
    np.asarray(frontend.features(noisy, dataclasses.replace(spec, denoise=0.0), frame_block)), plain[None]
  )


def test_denoise_ignores_the_zeros_that_pad_a_last_segment():
  """A segment whose second half is padding: the noise level comes from the frames with sound, so the noise is
  still removed from them, and the padding's frames stay what they were."""
  on = dataclasses.replace(DENOISE_SPEC, denoise=2.0, denoise_quantile=0.3)
  padded = _tone_in_noise(0.02, silent_after=2.0)
  frames = DENOISE_SPEC.num_frames(padded.shape[1])
  plain = np.asarray(frontend.features(padded, DENOISE_SPEC))[0]
  cleaned = np.asarray(frontend.features(padded, on))[0]
  sound, pad = slice(0, int(0.2 * frames / 4)), slice(int(2.2 * frames / 4), frames)
  assert np.median(plain[sound] - cleaned[sound]) > 3.0
  np.testing.assert_array_equal(cleaned[pad], plain[pad])


@pytest.mark.parametrize("field,value", [("denoise", -1.0), ("denoise_quantile", 0.0), ("denoise_quantile", 1.0)])
def test_denoise_settings_out_of_range_are_refused(field, value):
  with pytest.raises(ValueError, match=field):
    frontend.FrontendSpec(**{field: value})


def test_piano_band_limits_bins_and_filters():
  full = frontend.FrontendSpec(representation="linear", band="full")
  piano = frontend.FrontendSpec(representation="linear", band="piano", harmonic_headroom=1.0)
  assert full.n_bins == full.n_fft // 2 + 1
  start, stop = piano.linear_bins
  freqs = np.fft.rfftfreq(piano.n_fft, 1 / piano.sample_rate)
  assert freqs[start] >= 27.5 > freqs[start - 1]
  assert freqs[stop - 1] <= 4186.01 < freqs[stop]
  mel = frontend.mel_filterbank(dataclasses.replace(piano, representation="mel"))
  support = np.nonzero(mel.any(axis=1))[0]
  assert freqs[support[0]] >= 27.5 - freqs[1] and freqs[support[-1]] <= 4186.01 + freqs[1]
  # A 6 kHz tone is visible in the full band and gone from the piano band.
  t = np.arange(16000) / 16000
  tone = np.sin(2 * np.pi * 6000 * t).astype(np.float32)[None]
  full_mel = np.asarray(filtered(tone, dataclasses.replace(full, representation="mel")))
  piano_mel = np.asarray(filtered(tone, dataclasses.replace(piano, representation="mel")))
  assert full_mel.max() > 1e3 * max(piano_mel.max(), 1e-12)


def test_logfreq_filterbank_resolves_semitones_where_the_stft_can():
  spec = frontend.FrontendSpec(n_fft=2048, representation="logfreq", band="piano", bins_per_octave=24)
  fb = frontend.logfreq_filterbank(spec)
  freqs = np.fft.rfftfreq(spec.n_fft, 1 / spec.sample_rate)
  assert fb.shape == (spec.n_fft // 2 + 1, spec.n_bins)
  np.testing.assert_allclose(fb.sum(axis=0), 1.0, rtol=1e-5)
  centres = freqs[np.argmax(fb, axis=0)]
  assert np.all(np.diff(centres) > 0) and centres[0] >= 27.5 - freqs[1]
  # Bass: every STFT bin is its own feature (single-bin filters, no two notes merged beyond the STFT's own limit)
  bass = centres < 200
  assert np.all((fb[:, bass] > 0).sum(axis=0) == 1)
  # Treble: log-spaced, about two centres per semitone
  treble = np.log2(centres[centres > 1000])
  assert abs(np.median(np.diff(treble)) - 1 / 24) < 0.01
  # The octave A1-A2 (55-110 Hz, 12 keys) gets every STFT bin there (7); the 160-band mel gives it 3 bands
  mel = frontend.mel_filterbank(dataclasses.replace(spec, representation="mel", n_mels=160))
  mel_centres = freqs[np.argmax(mel, axis=0)]
  in_octave = lambda c: int(((c >= 55) & (c < 110)).sum())  # noqa: E731
  assert in_octave(centres) == int(((freqs >= 55) & (freqs < 110)).sum()) == 7
  assert in_octave(mel_centres) <= 3


def test_invalid_spec_is_rejected():
  with pytest.raises(ValueError, match="win_length"):
    frontend.FrontendSpec(n_fft=512, win_length=1024)
  with pytest.raises(ValueError, match="representation"):
    frontend.FrontendSpec(representation="cqt")


@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("band", ["full", "piano"])
def test_mel_filterbank_equals_librosa(htk, band):
  spec = frontend.FrontendSpec(n_mels=229, mel_scale="htk" if htk else "slaney", band=band)
  ref = librosa.filters.mel(
    sr=spec.sample_rate,
    n_fft=spec.n_fft,
    n_mels=spec.n_mels,
    fmin=spec.fmin,
    fmax=spec.fmax,
    htk=htk,
    dtype=np.float64,
  )
  np.testing.assert_allclose(frontend.mel_filterbank(spec), ref.T, rtol=1e-5, atol=1e-9)
  np.testing.assert_allclose(
    frontend.mel_to_hz(frontend.hz_to_mel([30.0, 999.0, 1000.0, 5000.0], htk), htk), [30.0, 999.0, 1000.0, 5000.0]
  )


@pytest.mark.parametrize("window", ["hann", "hamming", "blackman"])
@pytest.mark.parametrize("length", [511, 2048])
def test_numpy_windows_equal_scipys(window, length):
  import scipy.signal

  want = scipy.signal.get_window(window, length, fftbins=True)
  np.testing.assert_allclose(frontend._periodic_window(window, length), want, atol=1e-12)


@pytest.mark.parametrize("representation", ["mel", "logfreq", "linear"])
def test_the_harmonic_stack_reads_a_pitchs_partials_at_its_own_bin(representation):
  """`harmonic_stack`: a sine at 3 x 220 Hz peaks at 660 Hz's bin in the features and at 220 Hz's bin in the h=3
  channel, with the features' value there; h=0.5 is zero where half a bin's frequency is below the band."""
  spec = frontend.FrontendSpec(representation=representation, band="piano", n_mels=229)
  rate = spec.sample_rate
  t = np.arange(rate) / rate
  audio = (0.3 * np.sin(2 * np.pi * 660.0 * t)).astype(np.float32)[None]
  x = np.asarray(frontend.features(audio, spec))
  stack = np.asarray(frontend.harmonic_stack(x, spec, (0.5, 3.0)))
  assert stack.shape == (*x.shape, 2)
  centres = frontend.bin_frequencies(spec)
  assert len(centres) == spec.n_bins and np.all(np.diff(centres) > 0)
  frame = x[0, x.shape[1] // 2]
  at_660, at_220 = (int(np.argmin(np.abs(centres - f))) for f in (660.0, 220.0))
  assert abs(int(np.argmax(frame)) - at_660) <= 1
  third = stack[0, x.shape[1] // 2, :, 1]
  assert abs(int(np.argmax(third)) - at_220) <= 1
  lower, upper, weight = (a[1, at_220] for a in frontend.harmonic_taps(spec, (0.5, 3.0)))
  assert centres[lower] <= 3 * centres[at_220] <= centres[upper] and 0 <= weight <= 1
  np.testing.assert_allclose(third[at_220], (1 - weight) * frame[lower] + weight * frame[upper], rtol=1e-5)
  below = 0.5 * centres < centres[0] * (1 - 1e-6)
  assert below.any() and not stack[..., below, 0].any() and stack[..., ~below, 0].any()


def test_pcen_fades_what_holds_and_keeps_what_starts_at_any_level():
  """`pcen`: a note held from the start falls to its steady level within a second, a note struck at 2 s stands
  several times above it at its onset and falls back as it decays; 20 dB louder, the same picture."""
  spec = frontend.FrontendSpec(representation="logfreq", band="piano", hop_length=320)
  rate = spec.sample_rate
  t = np.arange(4 * rate) / rate
  held = 0.05 * np.sin(2 * np.pi * 440.0 * t)
  struck = np.where(t >= 2.0, 0.05 * np.sin(2 * np.pi * 523.25 * t) * np.exp(-2.0 * (t - 2.0)), 0.0)
  centres = frontend.bin_frequencies(spec)
  a4, c5 = (int(np.argmin(np.abs(centres - f))) for f in (440.0, 523.25))
  onset = int(2.0 * spec.frame_rate)
  pictures = []
  for gain in (1.0, 10.0):
    audio = (gain * (held + struck)).astype(np.float32)[None]
    p = np.asarray(frontend.pcen(frontend.features(audio, spec), spec.frame_rate, 0.4))[0]
    steady = p[onset - 5, a4]
    assert p[5, a4] > 1.3 * steady  # the held note starts above where it settles
    assert np.allclose(p[onset - 50 : onset, a4], steady, rtol=0.05)  # ... and stays there
    peak = p[onset - 2 : onset + 5, c5].max()
    assert peak > 5 * steady and p[onset + 50, c5] < 0.3 * peak  # the strike stands out, then fades
    pictures.append(p[:, [a4, c5]])
  np.testing.assert_allclose(pictures[1], pictures[0], rtol=0.1, atol=0.02)
