"""Spoken-word data: a corpus synthesised offline, a recorded-corpus loader, and Debian's recorded digits.

The synthetic corpus (:func:`synth_corpus`) is in the spirit of Speech Commands (Warden 2018):
one-second clips of single words at 16 kHz, each said by a sampled voice of espeak-ng, flite
or festival (see :mod:`advgeom.data.synth`) with sampled speaking rate and pitch, a random
speed factor (resampling, which shifts pitch and formants together), centred on its energy
with a small random shift, mixed with pink noise or babble (other words of the same split) at
a sampled signal-to-noise ratio, and scaled to a fixed RMS level. Train and test voices are
disjoint speaker identities, so test accuracy measures generalisation to unheard voices.
Generation is seeded and cached on disk (keyed by every parameter and the synthesiser versions).

Recorded speech: :func:`load_word_folder` reads a Speech-Commands-style tree ``root/<word>/*.wav``;
:func:`load_asterisk_digits` reads the spoken digits of Debian's ``asterisk-core-sounds-en-wav``
(one speaker, 8 kHz telephone band) for a train-on-synthetic / test-on-real check.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import soundfile as sf
import torch
import torchaudio

from advgeom.cache import cache_path, cached
from advgeom.checks import Interval, Satisfies, check_choice, check_float, validate_params
from advgeom.data import synth as _synth

COMMAND_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DEFAULT_WORDS = COMMAND_WORDS + DIGIT_WORDS
# The other Speech Commands words, for larger vocabularies.
MORE_WORDS = ("bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow")
NOISE_KINDS = ("pink", "babble", "none")
SPLITS = ("train", "test")
DEFAULT_SYNTH_WEIGHTS = {"espeak": 0.5, "flite": 0.3, "festival": 0.2}
CORPUS_FORMAT = 2  # bump when the synthesis pipeline changes what a parameter set produces (2: checked entries)
WAVEFORM_BOUNDS = (-1.0, 1.0)  # valid waveform range (int16 full scale): the attack bounds of word networks
ASTERISK_DIRS = (
    Path("/usr/share/asterisk/sounds/en/digits"),
    Path("/usr/share/asterisk/sounds/en_US_f_Allison/digits"),
)
META_COLUMNS = ("split", "speaker", "synth", "voice", "settings", "speed", "noise", "snr_db")
_INT16 = 32767.0


# ----------------------------------------------------------------------------------------------------------- corpus
@dataclass
class WordCorpus:
    """Fixed-length spoken-word clips with labels and per-clip metadata.

    ``waveforms``: (N, T) float32 in [-1, 1] (values on the int16 grid); ``labels``: (N,) int64
    indices into ``words``; ``meta``: per-clip columns (:data:`META_COLUMNS`): ``split``
    (train/test), ``speaker`` (the identity the split respects), ``synth``, ``voice``,
    ``settings``, ``speed``, ``noise`` (pink/babble/none) and ``snr_db`` (NaN without noise).
    """

    waveforms: np.ndarray
    labels: np.ndarray
    words: tuple[str, ...]
    sample_rate: int
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.waveforms)
        if self.waveforms.ndim != 2 or len(self.labels) != n:
            raise ValueError(f"waveforms {self.waveforms.shape} and labels {self.labels.shape} do not match")
        for key, col in self.meta.items():
            if len(col) != n:
                raise ValueError(f"meta column {key!r} has {len(col)} rows for {n} clips")

    def __len__(self) -> int:
        return len(self.waveforms)

    @property
    def duration(self) -> float:
        """Clip length in seconds."""
        return self.waveforms.shape[1] / self.sample_rate

    def subset(self, index: np.ndarray | Sequence[int]) -> WordCorpus:
        """The clips selected by an index array or boolean mask."""
        index = np.asarray(index)
        return WordCorpus(
            self.waveforms[index], self.labels[index], self.words, self.sample_rate,
            {k: v[index] for k, v in self.meta.items()}, dict(self.config),
        )  # fmt: skip

    def split(self, name: str) -> WordCorpus:
        """The clips of split ``name`` (``train`` or ``test``)."""
        check_choice("split", name, SPLITS)
        return self.subset(self.meta["split"] == name)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(waveforms (N, T) float32, labels (N,) int64)`` as torch tensors (sharing memory)."""
        return torch.from_numpy(self.waveforms), torch.from_numpy(self.labels)

    def dataset(self) -> torch.utils.data.TensorDataset:
        """A :class:`~torch.utils.data.TensorDataset` of (waveform, label)."""
        return torch.utils.data.TensorDataset(*self.tensors())

    def table(self) -> Any:
        """Per-clip metadata as a :class:`pandas.DataFrame` (with the word spelled out)."""
        import pandas as pd

        frame = pd.DataFrame({k: v for k, v in self.meta.items()})
        frame.insert(0, "word", np.asarray(self.words)[self.labels])
        return frame

    def to_bytes(self) -> bytes:
        """The corpus as an uncompressed .npz archive (int16 audio, string metadata; no pickles)."""
        arrays = {f"meta_{k}": v for k, v in self.meta.items()}
        buffer = io.BytesIO()
        np.savez(
            buffer, waveforms=np.round(self.waveforms * _INT16).astype(np.int16), labels=self.labels,
            words=np.asarray(self.words), sample_rate=np.int64(self.sample_rate),
            config=np.asarray(json.dumps(self.config, sort_keys=True)), **arrays,
        )  # fmt: skip
        return buffer.getvalue()

    def save(self, path: str | Path) -> None:
        """Write to ``path`` as an uncompressed .npz (:meth:`to_bytes`)."""
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def from_bytes(cls, payload: bytes) -> WordCorpus:
        """Read a corpus from the bytes :meth:`to_bytes` wrote."""
        return cls.load(io.BytesIO(payload))

    @classmethod
    def load(cls, path: str | Path | BinaryIO) -> WordCorpus:
        """Read a corpus written by :meth:`save` (a path, or a binary file object)."""
        with np.load(path, allow_pickle=False) as z:
            meta = {k.removeprefix("meta_"): z[k] for k in z.files if k.startswith("meta_")}
            return cls(
                (z["waveforms"].astype(np.float32) / _INT16), z["labels"].astype(np.int64),
                tuple(str(w) for w in z["words"]), int(z["sample_rate"]), meta, json.loads(str(z["config"])),
            )  # fmt: skip


# ------------------------------------------------------------------------------------------------- signal helpers
def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 (channels averaged) and its sample rate."""
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    return audio.mean(axis=1), int(sr)


@lru_cache(maxsize=64)
def _resampler(orig: int, new: int) -> torchaudio.transforms.Resample:
    return torchaudio.transforms.Resample(orig, new)


def resample(x: np.ndarray, orig_rate: int, new_rate: int) -> np.ndarray:
    """Band-limited resampling (torchaudio's windowed-sinc resampler) of a 1-D signal."""
    orig_rate, new_rate = int(orig_rate), int(new_rate)
    if orig_rate == new_rate:
        return np.asarray(x, dtype=np.float32)
    with torch.no_grad():
        y = _resampler(orig_rate, new_rate)(torch.as_tensor(x, dtype=torch.float32)[None])[0]
    return y.numpy()


def speech_bounds(
    x: np.ndarray, sample_rate: int, *, threshold_db: float = 35.0, frame_s: float = 0.01
) -> tuple[int, int]:
    """``(start, stop)``: the samples of ``x`` whose 10 ms frame energy is within ``threshold_db`` of the peak."""
    hop = max(1, int(round(frame_s * sample_rate)))
    n = max(1, len(x) // hop)
    energy = np.square(x[: n * hop].astype(np.float64)).reshape(n, hop).sum(axis=1) if len(x) >= hop else None
    if energy is None or energy.max() <= 0:
        return 0, len(x)
    active = np.flatnonzero(energy >= energy.max() * 10.0 ** (-threshold_db / 10.0))
    return int(active[0] * hop), int(min(len(x), (active[-1] + 1) * hop))


def fit_clip(x: np.ndarray, length: int, bounds: tuple[int, int], shift: int = 0) -> tuple[np.ndarray, tuple[int, int]]:
    """Place the active part ``x[bounds[0]:bounds[1]]`` centred (plus ``shift`` samples) in a clip of ``length``.

    A part longer than the clip is cut to the clip around the part's energy centroid.
    Returns the clip and the active part's bounds inside it.
    """
    start, stop = bounds
    seg = x[start:stop]
    if len(seg) > length:
        w = np.square(seg.astype(np.float64))
        centre = int(np.sum(np.arange(len(seg)) * w) / max(w.sum(), 1e-30))
        first = int(np.clip(centre - length // 2, 0, len(seg) - length))
        return seg[first : first + length].astype(np.float32), (0, length)
    pos = int(np.clip((length - len(seg)) // 2 + shift, 0, length - len(seg)))
    out = np.zeros(length, dtype=np.float32)
    out[pos : pos + len(seg)] = seg
    return out, (pos, pos + len(seg))


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) Gaussian noise of length ``n`` and unit RMS (white noise shaped in the frequency domain)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = np.inf  # no DC
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def rms(x: np.ndarray) -> float:
    """Root mean square of ``x``."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def mix_at_snr(
    speech: np.ndarray, noise: np.ndarray, snr_db: float, bounds: tuple[int, int] | None = None
) -> np.ndarray:
    """``speech + g * noise`` with ``g`` set so that ``10 log10(P_speech / P_noise) = snr_db``.

    Powers are measured over ``bounds`` (the active part of the speech) when given, else the whole clip.
    """
    a, b = bounds if bounds is not None else (0, len(speech))
    p_s, p_n = rms(speech[a:b]), rms(noise[a:b])
    if p_n == 0:
        return speech.copy()
    return (speech + noise * (p_s / (p_n * 10.0 ** (snr_db / 20.0)))).astype(np.float32)


def set_level(x: np.ndarray, level: float) -> np.ndarray:
    """Scale ``x`` to RMS ``level`` (silence stays silent), clip to [-1, 1] and round to the int16 grid."""
    r = rms(x)
    y = x * (level / r) if r > 0 else x
    return (np.round(np.clip(y, -1.0, 1.0) * _INT16) / _INT16).astype(np.float32)


# -------------------------------------------------------------------------------------------------- synthetic corpus
def _validate_words(words: Sequence[str]) -> tuple[str, ...]:
    words = tuple(_synth.check_word(w) for w in words)
    if len(words) < 2 or len(set(words)) != len(words):
        raise ValueError(f"words must hold at least two distinct words, got {list(words)}")
    return words


def split_speakers(
    voices: Sequence[_synth.Voice], test_fraction: float, rng: np.random.Generator
) -> dict[str, list[_synth.Voice]]:
    """Hold out ``test_fraction`` of the speaker identities of each family (espeak variants; recorded speakers).

    At least one identity per family is held out when ``test_fraction > 0``, and at least one is
    kept for training; a family with one identity stays in training. Returns ``{"train": [...], "test": [...]}``.
    """
    identities: dict[str, list[str]] = {}
    for v in voices:
        family = "espeak" if v.synth == "espeak" else "recorded"
        ids = identities.setdefault(family, [])
        if _synth.speaker_of(v) not in ids:
            ids.append(_synth.speaker_of(v))
    test_ids: set[str] = set()
    for ids in identities.values():
        ids = sorted(ids)
        if len(ids) >= 2 and test_fraction > 0:
            k = int(np.clip(round(test_fraction * len(ids)), 1, len(ids) - 1))
            test_ids.update(ids[i] for i in rng.choice(len(ids), size=k, replace=False))
    return {
        "train": [v for v in voices if _synth.speaker_of(v) not in test_ids],
        "test": [v for v in voices if _synth.speaker_of(v) in test_ids],
    }


@validate_params(
    {
        "n_train": Interval(int, 1, None),
        "n_test": Interval(int, 0, None),
        "sample_rate": Interval(int, 4000, 96000),
        "duration": Interval(float, 0.1, 10.0),
        "test_fraction": Interval(float, 0.0, 1.0),
        "jitter": Interval(float, 0.0, 1.0),
        "level": Interval(float, 1e-4, 0.5),
        "seed": Interval(int, 0, None),
    }
)
@dataclass(frozen=True)
class CorpusSpec:
    """Every parameter of a synthetic spoken-word corpus (:func:`synth_corpus`), validated on construction.

    ``words`` (at least two distinct), ``n_train`` / ``n_test`` clips per word, ``sample_rate`` and
    ``duration`` of the clips, the synthesisers ``synths`` and their ``synth_weights`` (default espeak
    0.5, flite 0.3, festival 0.2; stored as ``(synth, weight)`` pairs of the chosen synths), the
    held-out ``test_fraction`` of speaker identities, ``snr_db`` and ``speed`` ranges (low, high), the
    ``noise`` kinds drawn from, the placement ``jitter`` (s), the RMS ``level`` and the ``seed``.
    Frozen and hashable; :meth:`key` is the canonical dict that identifies the corpus (its cache key
    without the synthesiser versions, and ``WordCorpus.config``).
    """

    words: tuple[str, ...] = DEFAULT_WORDS
    n_train: int = 200
    n_test: int = 50
    _: KW_ONLY
    sample_rate: int = 16000
    duration: float = 1.0
    synths: tuple[str, ...] = _synth.SYNTHS
    synth_weights: Mapping[str, float] | tuple[tuple[str, float], ...] | None = None
    test_fraction: float = 0.25
    snr_db: tuple[float, float] = (0.0, 20.0)
    noise: tuple[str, ...] = ("pink", "babble")
    speed: tuple[float, float] = (0.9, 1.1)
    jitter: float = 0.1
    level: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        words = _validate_words(self.words)
        synths = tuple(check_choice("synth", s, _synth.SYNTHS) for s in self.synths)
        if not synths or len(set(synths)) != len(synths):
            raise ValueError(f"synths must name distinct synthesisers from {list(_synth.SYNTHS)}, got {list(synths)}")
        weights = dict(DEFAULT_SYNTH_WEIGHTS if self.synth_weights is None else self.synth_weights)
        unknown = sorted(set(weights) - set(_synth.SYNTHS))
        if unknown:
            raise ValueError(f"synth_weights names unknown synthesisers {unknown}; allowed {list(_synth.SYNTHS)}")
        weights = {s: check_float(f"synth_weights[{s!r}]", weights.get(s, 0.0), minimum=0.0) for s in synths}
        if sum(weights.values()) <= 0:
            raise ValueError(f"synth_weights {weights} give no weight to the chosen synths {list(synths)}")
        snr_db, speed = self.snr_db, self.speed
        lo, hi = (check_float("snr_db[0]", snr_db[0]), check_float("snr_db[1]", snr_db[1]))
        if lo > hi:
            raise ValueError(f"snr_db={tuple(snr_db)} must be (low, high) with low <= high")
        noise = tuple(check_choice("noise", k, NOISE_KINDS) for k in self.noise)
        if not noise:
            raise ValueError(f"noise must list at least one of {list(NOISE_KINDS)} ('none' for clean clips)")
        s_lo, s_hi = (check_float("speed[0]", speed[0], minimum=0.5), check_float("speed[1]", speed[1], maximum=2.0))
        if s_lo > s_hi:
            raise ValueError(f"speed={tuple(speed)} must be (low, high) with low <= high")
        for name, value in (("words", words), ("synths", synths), ("synth_weights", tuple(weights.items())),
                            ("snr_db", (lo, hi)), ("noise", noise), ("speed", (s_lo, s_hi))):  # fmt: skip
            object.__setattr__(self, name, value)

    def key(self) -> dict[str, Any]:
        """The corpus parameters as a canonical dict (what identifies the corpus; ``format`` included)."""
        return {
            "format": CORPUS_FORMAT,
            "words": list(self.words),
            "n_train": self.n_train,
            "n_test": self.n_test,
            "sample_rate": self.sample_rate,
            "duration": self.duration,
            "synths": list(self.synths),
            "synth_weights": dict(self.synth_weights),
            "test_fraction": self.test_fraction,
            "snr_db": list(self.snr_db),
            "noise": list(self.noise),
            "speed": list(self.speed),
            "jitter": self.jitter,
            "level": self.level,
            "seed": self.seed,
        }

    def versions(self) -> dict[str, str]:
        """The version of each synthesiser the corpus uses (part of its cache key: a new one may sound different)."""
        return {s: _synth.synth_version(s) for s in self.synths}


def _plan(p: dict[str, Any], voices: list[_synth.Voice]) -> list[dict[str, Any]]:
    """Every utterance's word, split, voice and settings, drawn from one seeded generator."""
    rng = np.random.default_rng([p["seed"], 1])
    pools = split_speakers(voices, p["test_fraction"], rng)
    plan = []
    for split, n in (("train", p["n_train"]), ("test", p["n_test"])):
        if n == 0:
            continue
        pool = pools[split]
        synths = [s for s in p["synths"] if p["synth_weights"][s] > 0 and any(v.synth == s for v in pool)]
        if not synths:
            raise ValueError(
                f"no {split} voices: synths {p['synths']} with test_fraction={p['test_fraction']} leave the {split} "
                "split empty; use more synthesisers or another test_fraction"
            )
        w = np.array([p["synth_weights"][s] for s in synths])
        for label, word in enumerate(p["words"]):
            for _ in range(n):
                synth = synths[int(rng.choice(len(synths), p=w / w.sum()))]
                cands = [v for v in pool if v.synth == synth]
                voice = cands[int(rng.integers(len(cands)))]
                name, settings = _synth.sample_settings(voice, rng)
                plan.append({
                    "job": _synth.Job(word, synth, name, settings), "label": label, "split": split,
                    "speaker": _synth.speaker_of(voice), "speed": float(rng.uniform(*p["speed"])),
                    "noise": p["noise"][int(rng.integers(len(p["noise"])))], "snr_db": float(rng.uniform(*p["snr_db"])),
                    "shift": float(rng.uniform(-p["jitter"], p["jitter"])),
                })  # fmt: skip
    return plan


def _speed_rate(native: int, speed: float) -> int:
    """The rate the native audio is read at to play ``speed`` times faster, on a 50 Hz grid (a small resampling
    kernel)."""
    return int(max(50, round(native * speed / 50.0) * 50))


def _build(p: dict[str, Any], *, workers: int, progress: bool) -> WordCorpus:
    voices = _synth.voices(p["synths"])
    plan = _plan(p, voices)
    audio = _synth.synthesize([u["job"] for u in plan], workers=workers, progress=progress)
    sr, length = p["sample_rate"], int(round(p["duration"] * p["sample_rate"]))
    clean = np.zeros((len(plan), length), dtype=np.float32)
    bounds, speeds = [], []
    for i, (u, (x, native)) in enumerate(zip(plan, audio, strict=True)):
        read_at = _speed_rate(native, u["speed"])
        y = resample(x, read_at, sr)
        clip, b = fit_clip(y, length, speech_bounds(y, sr), int(round(u["shift"] * sr)))
        clean[i] = clip / max(rms(clip[b[0] : b[1]]), 1e-12)
        bounds.append(b)
        speeds.append(read_at / native)
    labels = np.array([u["label"] for u in plan], dtype=np.int64)
    splits = np.array([u["split"] for u in plan])
    out = np.zeros_like(clean)
    for i, u in enumerate(plan):
        rng = np.random.default_rng([p["seed"], 2, i])
        if u["noise"] == "none":
            mixed = clean[i]
        else:
            if u["noise"] == "pink":
                noise = pink_noise(length, rng)
            else:
                others = np.flatnonzero((splits == u["split"]) & (labels != labels[i]))
                if len(others) == 0:
                    raise ValueError("babble needs other words in the same split")
                picks = rng.choice(others, size=min(len(others), int(rng.integers(3, 7))), replace=False)
                noise = sum(np.roll(clean[j], int(rng.integers(length))) for j in picks)
            mixed = mix_at_snr(clean[i], noise, u["snr_db"], bounds[i])
        out[i] = set_level(mixed, p["level"])
    meta = {
        "split": splits,
        "speaker": np.array([u["speaker"] for u in plan]),
        "synth": np.array([u["job"].synth for u in plan]),
        "voice": np.array([u["job"].voice for u in plan]),
        "settings": np.array([u["job"].describe() for u in plan]),
        "speed": np.array(speeds, dtype=np.float64),
        "noise": np.array([u["noise"] for u in plan]),
        "snr_db": np.array([np.nan if u["noise"] == "none" else u["snr_db"] for u in plan]),
    }
    return WordCorpus(out, labels, tuple(p["words"]), sr, meta, dict(p))


def _check_spec(value: Any) -> CorpusSpec:
    if not isinstance(value, CorpusSpec):
        raise ValueError(
            f"spec={value!r} is not a CorpusSpec; describe the corpus as advgeom.data.audio.CorpusSpec(...) "
            "(its fields are the corpus parameters)"
        )
    return value


@validate_params(
    {
        "spec": [Satisfies(_check_spec, None, ({"words": ("yes", "no")}, "corpus"), "a CorpusSpec"), None],
        "workers": Interval(int, 1, None),
    }
)
def synth_corpus(
    spec: CorpusSpec | None = None, *, cache: bool = True, workers: int = 2, progress: bool = True
) -> WordCorpus:
    """Synthesise (or load from the cache) the spoken-word corpus ``spec`` (None: ``CorpusSpec()``, the defaults).

    ``n_train`` / ``n_test`` clips per word. Train and test clips are said by disjoint speaker
    identities: ``test_fraction`` of the espeak-ng variants and of the recorded speakers behind
    flite/festival are held out (see :func:`split_speakers`). Each clip: a synthesiser drawn with
    ``synth_weights`` (default espeak 0.5, flite 0.3, festival 0.2), a voice of the split, sampled
    settings (:func:`advgeom.data.synth.sample_settings`), a speed factor in ``speed`` (resampling),
    ``duration`` seconds centred on the word's energy +- ``jitter`` s, noise of a kind drawn from
    ``noise`` at an SNR uniform in ``snr_db`` (measured over the word), then RMS ``level``.
    ``workers`` synthesiser processes run at once; the result does not depend on it.
    """
    spec = CorpusSpec() if spec is None else spec
    p = spec.key()
    if not cache:
        return _build(p, workers=workers, progress=progress)
    key = {**p, "versions": spec.versions()}
    return cached(
        cache_path("audio-corpus", key, ".npz"),
        key,
        lambda: _build(p, workers=workers, progress=progress),
        WordCorpus.to_bytes,
        WordCorpus.from_bytes,
    )


# ------------------------------------------------------------------------------------------------------ real speech
def _hash_fraction(text: str) -> float:
    """A stable number in [0, 1) from ``text`` (sha1), for splits that do not depend on file order."""
    return int(hashlib.sha1(text.encode()).hexdigest()[:12], 16) / float(16**12)


def _clip_real(path: Path, sample_rate: int, length: int, level: float) -> np.ndarray:
    x, sr = read_wav(path)
    if len(x) == 0:
        raise ValueError(f"{path} holds no audio")
    y = resample(x, sr, sample_rate)
    clip, _ = fit_clip(y, length, speech_bounds(y, sample_rate))
    return set_level(clip, level)


def _real_corpus(
    files: list[tuple[Path, int, str, str]],
    words: tuple[str, ...],
    sample_rate: int,
    duration: float,
    level: float,
    config: dict[str, Any],
) -> WordCorpus:
    length = int(round(duration * sample_rate))
    waves = (
        np.stack([_clip_real(f, sample_rate, length, level) for f, _, _, _ in files])
        if files
        else np.zeros((0, length), np.float32)
    )
    n = len(files)
    meta = {
        "split": np.array([s for _, _, s, _ in files], dtype=str),
        "speaker": np.array([spk for _, _, _, spk in files], dtype=str),
        "synth": np.full(n, "recorded"),
        "voice": np.array([spk for _, _, _, spk in files], dtype=str),
        "settings": np.array([str(f) for f, _, _, _ in files], dtype=str),
        "speed": np.ones(n),
        "noise": np.full(n, "none"),
        "snr_db": np.full(n, np.nan),
    }
    labels = np.array([lab for _, lab, _, _ in files], dtype=np.int64)
    return WordCorpus(waves, labels, words, sample_rate, meta, config)


_CLIP = {
    "sample_rate": Interval(int, 4000, 96000),
    "duration": Interval(float, 0.1, 10.0),
    "level": Interval(float, 1e-4, 0.5),
}


@validate_params({**_CLIP, "test_fraction": Interval(float, 0.0, 1.0), "max_per_word": [Interval(int, 1, None), None]})
def load_word_folder(
    root: str | Path,
    words: Sequence[str] | None = None,
    *,
    sample_rate: int = 16000,
    duration: float = 1.0,
    level: float = 0.05,
    test_fraction: float = 0.2,
    max_per_word: int | None = None,
) -> WordCorpus:
    """Read a recorded Speech-Commands-style corpus: ``root/<word>/*.wav`` (folders starting with ``_`` or ``.``,
    such as ``_background_noise_``, are ignored).

    ``words`` fixes the vocabulary and label order (default: every word folder, sorted). The
    split follows ``root/testing_list.txt`` when present (paths ``word/file.wav``); otherwise
    speakers (the part of a file name before ``_nohash_``, else the file stem) are held out by a
    stable hash, ``test_fraction`` of them. Clips are resampled, centred on their energy, cut or
    padded to ``duration`` and scaled to RMS ``level``.
    """
    root = Path(root)
    layout = "a folder per word holding .wav files: root/<word>/*.wav (e.g. root/yes/0a7c2a8d_nohash_0.wav)"
    if not root.is_dir():
        raise FileNotFoundError(f"word corpus folder {root} does not exist; expected {layout}")
    found = sorted(
        d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(("_", ".")) and any(d.glob("*.wav"))
    )
    if not found:
        raise ValueError(f"{root} holds no word folders with .wav files; expected {layout}")
    words = tuple(found) if words is None else _validate_words(words)
    missing = [w for w in words if w not in found]
    if missing:
        raise ValueError(f"words {missing} have no folder of .wav files in {root}; it has {found}")
    listed = root / "testing_list.txt"
    test_files = set(listed.read_text().split()) if listed.is_file() else None
    files = []
    for label, word in enumerate(words):
        paths = sorted((root / word).glob("*.wav"))[:max_per_word]
        for path in paths:
            speaker = path.stem.split("_nohash_")[0]
            rel = f"{word}/{path.name}"
            is_test = rel in test_files if test_files is not None else _hash_fraction(speaker) < test_fraction
            files.append((path, label, "test" if is_test else "train", speaker))
    config = {"root": str(root), "words": list(words), "sample_rate": sample_rate, "duration": duration,
              "level": level, "test_fraction": test_fraction, "max_per_word": max_per_word}  # fmt: skip
    return _real_corpus(files, words, sample_rate, duration, level, config)


def find_asterisk_digits(root: str | Path | None = None) -> Path:
    """The folder of Debian's recorded digits (``0.wav`` .. ``9.wav``); a clear error naming the package if absent."""
    candidates = [Path(root)] if root is not None else list(ASTERISK_DIRS)
    for folder in candidates:
        if all((folder / f"{d}.wav").is_file() for d in range(10)):
            return folder
    raise FileNotFoundError(
        f"recorded digits 0.wav..9.wav not found in {[str(c) for c in candidates]}: install the Debian package "
        "'asterisk-core-sounds-en-wav' (sudo apt-get install asterisk-core-sounds-en-wav)"
    )


@validate_params(_CLIP)
def load_asterisk_digits(
    words: Sequence[str] = DEFAULT_WORDS,
    *,
    root: str | Path | None = None,
    sample_rate: int = 16000,
    duration: float = 1.0,
    level: float = 0.05,
) -> WordCorpus:
    """Debian's recorded spoken digits (one female speaker, 8 kHz telephone band) as a test-only corpus.

    Labels index ``words`` (the vocabulary of the network to test); digits missing from
    ``words`` are skipped. Ten clips at most: a coarse check, best reported as counts.
    """
    words = _validate_words(words)
    present = [(d, w) for d, w in enumerate(DIGIT_WORDS) if w in words]
    if not present:
        raise ValueError(f"words {list(words)} contain none of the digit words {list(DIGIT_WORDS)}")
    folder = find_asterisk_digits(root)
    files = [(folder / f"{d}.wav", words.index(w), "test", "asterisk:allison") for d, w in present]
    config = {"root": str(folder), "words": list(words), "sample_rate": sample_rate, "duration": duration,
              "level": level}  # fmt: skip
    return _real_corpus(files, words, sample_rate, duration, level, config)
