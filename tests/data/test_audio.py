"""Spoken-word data: synthesis, the synthetic corpus (splits, noise, cache), recorded-corpus loaders."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from advgeom.data import audio, synth
from advgeom.data.audio import (
    DEFAULT_WORDS,
    DIGIT_WORDS,
    CorpusSpec,
    WordCorpus,
    fit_clip,
    load_asterisk_digits,
    load_word_folder,
    mix_at_snr,
    pink_noise,
    resample,
    rms,
    speech_bounds,
    synth_corpus,
)

TINY = {"words": ("yes", "no", "up", "down", "seven"), "n_train": 16, "n_test": 4}


def _corpus(*, cache: bool = False, **params) -> WordCorpus:
    """``synth_corpus`` of the tiny corpus with ``params`` changed (no progress bars)."""
    return synth_corpus(CorpusSpec(**{**TINY, **params}), cache=cache, progress=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> WordCorpus:
    return _corpus()


# ------------------------------------------------------------------------------------------------- signal helpers
def test_mix_at_snr_sets_the_ratio() -> None:
    rng = np.random.default_rng(0)
    s, n = rng.standard_normal(4000).astype(np.float32), rng.standard_normal(4000).astype(np.float32)
    for snr in (-5.0, 0.0, 12.5):
        mixed = mix_at_snr(s, n, snr, (1000, 3000))
        noise = mixed - s
        got = 20 * math.log10(rms(s[1000:3000]) / rms(noise[1000:3000]))
        assert got == pytest.approx(snr, abs=1e-3)


def test_pink_noise_has_one_over_f_power() -> None:
    x = pink_noise(2**16, np.random.default_rng(0))
    assert rms(x) == pytest.approx(1.0, rel=1e-5)
    power = np.abs(np.fft.rfft(x)) ** 2
    # average power in octave bands falls by half per octave (slope -1 in log-log)
    edges = 2 ** np.arange(4, 15)
    band = np.array([power[a:b].mean() for a, b in zip(edges[:-1], edges[1:], strict=True)])
    centres = np.sqrt(edges[:-1] * edges[1:])
    slope = np.polyfit(np.log(centres), np.log(band), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.05)
    assert abs(x.astype(np.float64).mean()) < 1e-6  # no DC


def test_speech_bounds_and_fit_clip_centre_the_word() -> None:
    sr = 16000
    x = np.zeros(sr * 2, dtype=np.float32)
    x[5000:9000] = np.sin(np.arange(4000) * 0.3)
    a, b = speech_bounds(x, sr)
    assert abs(a - 5000) <= 160 and abs(b - 9000) <= 160
    clip, (pa, pb) = fit_clip(x, 8000, (a, b))
    assert len(clip) == 8000 and abs((pa + pb) / 2 - 4000) <= 1
    np.testing.assert_array_equal(clip[pa:pb], x[a:b])
    shifted, (sa, _) = fit_clip(x, 8000, (a, b), shift=500)
    assert sa == pa + 500
    edge, (ea, eb) = fit_clip(x, 8000, (a, b), shift=10_000)  # a shift never pushes the word out of the clip
    assert eb == 8000 and eb - ea == b - a
    short, bounds = fit_clip(x, 2000, (a, b))  # longer than the clip: cut around the energy centroid
    assert len(short) == 2000 and bounds == (0, 2000)


def test_resample_keeps_frequency() -> None:
    t = np.arange(22050) / 22050
    y = resample(np.sin(2 * np.pi * 1000 * t).astype(np.float32), 22050, 16000)
    assert len(y) == 16000
    assert np.argmax(np.abs(np.fft.rfft(y))) == 1000


# ------------------------------------------------------------------------------------------------------ synthesis
def test_missing_synthesiser_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth.shutil, "which", lambda name: None)
    with pytest.raises(synth.SynthesizerMissing, match="apt-get install espeak-ng"):
        synth.require("espeak")
    with pytest.raises(synth.SynthesizerMissing, match="flite"):
        _corpus(synths=("flite",))


def test_missing_festival_voice_names_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    voices = dict(synth.FESTIVAL_VOICES)
    voices["ked_diphone"] = ("ked", "festvox-kdlpc16k", tmp_path / "nope")
    monkeypatch.setattr(synth, "FESTIVAL_VOICES", voices)
    with pytest.raises(synth.SynthesizerMissing, match="festvox-kdlpc16k"):
        synth.require("festival")


def test_each_synthesiser_is_deterministic_and_says_something() -> None:
    jobs = [
        synth.Job("seven", "espeak", "m3", (("accent", "en-gb-scotland"), ("wpm", 150), ("pitch", 40))),
        synth.Job("seven", "flite", "slt", (("stretch", 1.1), ("f0", 180.0))),
        synth.Job("seven", "festival", "kal_diphone", (("stretch", 0.9),)),
        synth.Job("seven", "festival", "cmu_us_slt_arctic_hts", (("stretch", 1.0),)),
    ]
    first = synth.synthesize(jobs, progress=False)
    second = synth.synthesize(jobs[::-1], progress=False, workers=1)[::-1]
    for (x, sr), (y, sr2) in zip(first, second, strict=True):
        assert sr == sr2 and sr >= 8000
        np.testing.assert_array_equal(x, y)
        assert 0.2 < len(x) / sr < 2.0 and rms(x) > 0.01
    slow = synth.synthesize([synth.Job("seven", "flite", "slt", (("stretch", 1.5), ("f0", 180.0)))], progress=False)
    assert len(slow[0][0]) > 1.2 * len(first[1][0])  # the duration setting takes effect


def test_espeak_variants_merged_into_distinct_voices() -> None:
    voices = synth.voices(["espeak"])
    names = [n for v in voices for n in v.names]
    assert len(names) == len(set(names)) == len(synth.espeak_variants())
    assert len(voices) > 50
    merged = [v for v in voices if len(v.names) > 1][:2]
    for v in merged:  # merged variants sound the same on a word other than the probe
        jobs = [synth.Job("left", "espeak", n, (("accent", "en"), ("wpm", 160), ("pitch", 60))) for n in v.names]
        out = synth.synthesize(jobs, progress=False)
        assert all(np.array_equal(out[0][0], x) for x, _ in out[1:])


def test_word_validation() -> None:
    with pytest.raises(ValueError, match="letters"):
        synth_corpus(CorpusSpec(["yes", "no; rm"], 2, 1), cache=False)
    with pytest.raises(ValueError, match="distinct"):
        synth_corpus(CorpusSpec(["yes", "yes"], 2, 1), cache=False)
    with pytest.raises(ValueError, match="noise"):
        _corpus(noise=("white",))
    with pytest.raises(ValueError, match="snr_db"):
        _corpus(snr_db=(10.0, 0.0))
    with pytest.raises(ValueError, match="synth"):
        _corpus(synths=("sam",))


def test_corpus_spec_key_validation_and_hash() -> None:
    spec = CorpusSpec()
    assert spec.key() == {
        "format": audio.CORPUS_FORMAT, "words": list(DEFAULT_WORDS), "n_train": 200, "n_test": 50,
        "sample_rate": 16000, "duration": 1.0, "synths": ["espeak", "flite", "festival"],
        "synth_weights": {"espeak": 0.5, "flite": 0.3, "festival": 0.2}, "test_fraction": 0.25,
        "snr_db": [0.0, 20.0], "noise": ["pink", "babble"], "speed": [0.9, 1.1], "jitter": 0.1, "level": 0.05,
        "seed": 0,
    }  # fmt: skip
    same = CorpusSpec(list(DEFAULT_WORDS), np.int64(200), synth_weights={"festival": 0.2, "espeak": 0.5, "flite": 0.3},
                      snr_db=[0, 20], duration=1)  # fmt: skip
    assert same == spec and hash(same) == hash(spec) and type(same.duration) is float and same.snr_db == (0.0, 20.0)
    two = CorpusSpec(("yes", "no"), 4, 1, synths=("flite",), synth_weights={"flite": 1.0, "espeak": 2.0})
    assert two.key()["synth_weights"] == {"flite": 1.0} and two != spec
    with pytest.raises(FrozenInstanceError):
        spec.n_train = 3
    for kwargs, match in [
        ({"n_train": 0}, "n_train=0 is too small"),
        ({"sample_rate": 100}, "sample_rate=100 is too small"),
        ({"synth_weights": {"sam": 1.0}}, "names unknown synthesisers"),
        ({"synth_weights": {"espeak": 0.0, "flite": 0.0, "festival": 0.0}}, "give no weight"),
        ({"synths": ()}, "must name distinct synthesisers"),
        ({"speed": (1.2, 1.0)}, "speed=.* must be \\(low, high\\)"),
        ({"noise": ()}, "at least one of"),
        ({"seed": -1}, "seed=-1 is too small"),
    ]:
        with pytest.raises(ValueError, match=match):
            CorpusSpec(**kwargs)
    with pytest.raises(ValueError, match="is not a CorpusSpec"):
        synth_corpus({"words": ("yes", "no")}, cache=False)
    assert audio.WAVEFORM_BOUNDS == (-1.0, 1.0)


# ------------------------------------------------------------------------------------------------ synthetic corpus
def test_tiny_corpus_shapes_labels_and_levels(tiny: WordCorpus) -> None:
    assert tiny.waveforms.shape == (5 * 20, 16000) and tiny.waveforms.dtype == np.float32
    assert tiny.sample_rate == 16000 and tiny.duration == 1.0 and tiny.words == TINY["words"]
    train, test = tiny.split("train"), tiny.split("test")
    assert len(train) == 80 and len(test) == 20
    assert np.bincount(train.labels).tolist() == [16] * 5 and np.bincount(test.labels).tolist() == [4] * 5
    assert np.abs(tiny.waveforms).max() <= 1.0
    np.testing.assert_allclose(np.sqrt(np.mean(tiny.waveforms.astype(np.float64) ** 2, axis=1)), 0.05, rtol=0.01)
    assert set(train.meta["synth"]) == {"espeak", "flite", "festival"}
    snr = tiny.meta["snr_db"]
    assert ((snr >= 0) & (snr <= 20)).all() and set(tiny.meta["noise"]) == {"pink", "babble"}
    waves, labels = tiny.tensors()
    assert tuple(waves.shape) == (100, 16000) and labels.dtype.is_floating_point is False
    assert list(tiny.table().columns[:2]) == ["word", "split"]


def test_test_voices_are_never_heard_in_training(tiny: WordCorpus) -> None:
    train = set(tiny.split("train").meta["speaker"])
    test = set(tiny.split("test").meta["speaker"])
    assert train and test and not train & test
    # recorded speakers heard through flite and festival (kal, slt) are one identity
    for spk in ("recorded:kal", "recorded:slt"):
        sides = {s for s, k in zip(tiny.meta["split"], tiny.meta["speaker"], strict=True) if k == spk}
        assert len(sides) <= 1


def test_split_speakers_holds_out_identities_per_family() -> None:
    espeak = [synth.Voice("espeak", f"v{i}", (f"v{i}",)) for i in range(20)]
    recorded = [synth.Voice("flite", s, (s,)) for s in ("kal", "slt", "awb")]
    recorded += [synth.Voice("festival", s, (s + "_x",)) for s in ("kal", "slt", "ked")]
    rng = np.random.default_rng(0)
    pools = audio.split_speakers(espeak + recorded, 0.25, rng)
    test_ids = {synth.speaker_of(v) for v in pools["test"]}
    train_ids = {synth.speaker_of(v) for v in pools["train"]}
    assert not test_ids & train_ids
    assert sum(i.startswith("espeak:") for i in test_ids) == 5
    assert sum(i.startswith("recorded:") for i in test_ids) == 1  # round(0.25 * 4 recorded speakers)
    for spk in ("kal", "slt"):  # flite and festival voices of one speaker fall on the same side
        sides = {side for side, vs in pools.items() for v in vs if v.speaker == spk}
        assert len(sides) == 1
    assert audio.split_speakers(espeak + recorded, 0.0, rng)["test"] == []
    lone = audio.split_speakers(espeak[:1], 0.5, rng)
    assert lone["test"] == [] and lone["train"] == espeak[:1]


def test_clean_clips_are_centred_on_the_word() -> None:
    corpus = _corpus(n_train=6, n_test=2, noise=("none",), jitter=0.0)
    assert np.isnan(corpus.meta["snr_db"]).all()
    for x in corpus.waveforms:
        a, b = speech_bounds(x, 16000)
        assert abs((a + b) / 2 - 8000) < 0.03 * 16000


def test_noise_follows_the_sampled_snr() -> None:
    # same seed and as many noise kinds: the same plan, so noise=("none", "none") gives each clip's clean speech
    kw = {"n_train": 4, "n_test": 1, "jitter": 0.0}
    noisy = _corpus(**kw, noise=("pink", "none"))
    clean = _corpus(**kw, noise=("none", "none"))
    rows = np.flatnonzero(noisy.meta["noise"] == "pink")
    assert len(rows) >= 5
    for i in rows:
        x, c = noisy.waveforms[i].astype(np.float64), clean.waveforms[i].astype(np.float64)
        alpha = x @ c / (c @ c)  # the speech inside the mixture; the rest is noise
        a, b = speech_bounds(clean.waveforms[i], 16000)
        snr = 20 * math.log10(rms(alpha * c[a:b]) / rms((x - alpha * c)[a:b]))
        assert snr == pytest.approx(noisy.meta["snr_db"][i], abs=0.5)


def test_corpus_is_seeded_and_cached(tiny: WordCorpus) -> None:
    folder = Path(audio.cache_path("audio-corpus", {"probe": 1}, ".npz")).parent
    before = set(folder.glob("*.npz"))
    cached = _corpus(cache=True)  # the first cached call builds afresh (tiny was built without the cache) and saves
    np.testing.assert_array_equal(cached.waveforms, tiny.waveforms)  # same seed, same corpus
    for key in audio.META_COLUMNS:
        np.testing.assert_array_equal(cached.meta[key], tiny.meta[key])
    assert len(set(folder.glob("*.npz")) - before) == 1 and not list(folder.glob(".*.tmp"))
    loaded = _corpus(cache=True)  # the second call loads the file
    np.testing.assert_array_equal(loaded.waveforms, tiny.waveforms)
    assert loaded.config == cached.config and loaded.words == tiny.words
    mini = {"words": ("yes", "no"), "n_train": 2, "n_test": 1}
    assert not np.array_equal(_corpus(**mini, seed=1).waveforms, _corpus(**mini).waveforms)


def test_a_damaged_corpus_is_set_aside_and_rebuilt() -> None:
    mini = {"words": ("yes", "no"), "n_train": 2, "n_test": 1, "seed": 5}
    first = _corpus(**mini, cache=True)
    spec = CorpusSpec(**{**TINY, **mini})
    key = {**spec.key(), "versions": spec.versions()}
    path = Path(audio.cache_path("audio-corpus", key, ".npz"))
    path.write_bytes(path.read_bytes()[:-1000])  # a copy cut short
    with pytest.warns(UserWarning, match="payload bytes, its header"):
        again = _corpus(**mini, cache=True)
    np.testing.assert_array_equal(again.waveforms, first.waveforms)
    assert path.with_name(path.name + ".damaged").exists()


def test_save_load_round_trip(tiny: WordCorpus, tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    tiny.save(path)
    back = WordCorpus.load(path)
    np.testing.assert_array_equal(back.waveforms, tiny.waveforms)  # waveforms live on the int16 grid
    np.testing.assert_array_equal(back.labels, tiny.labels)
    np.testing.assert_array_equal(back.meta["snr_db"], tiny.meta["snr_db"])


# ------------------------------------------------------------------------------------------------- recorded speech
def _write_tree(root: Path) -> None:
    rng = np.random.default_rng(0)
    for w, f0 in (("yes", 300.0), ("no", 900.0)):
        (root / w).mkdir(parents=True)
        for spk in ("aaaa", "bbbb", "cccc"):
            for sr in (8000, 16000):
                t = np.arange(int(0.6 * sr)) / sr
                x = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.01 * rng.standard_normal(len(t))
                sf.write(root / w / f"{spk}_nohash_{sr // 8000}.wav", x.astype(np.float32), sr)
    (root / "_background_noise_").mkdir()
    sf.write(root / "_background_noise_" / "white.wav", rng.standard_normal(16000).astype(np.float32), 16000)
    stereo = np.stack([np.zeros(16000), 0.2 * np.ones(16000)], axis=1).astype(np.float32)
    sf.write(root / "no" / "dddd_nohash_0.wav", stereo, 16000)


def test_word_folder_loader(tmp_path: Path) -> None:
    _write_tree(tmp_path)
    corpus = load_word_folder(tmp_path)
    assert corpus.words == ("no", "yes")  # sorted folders; _background_noise_ ignored
    assert corpus.waveforms.shape == (13, 16000)
    assert np.bincount(corpus.labels).tolist() == [7, 6]
    # each clip kept its tone: the spectral peak is the word's frequency
    tones = np.array(["dddd" not in p for p in corpus.meta["settings"]])
    for x, lab in zip(corpus.waveforms[tones], corpus.labels[tones], strict=True):
        peak = np.argmax(np.abs(np.fft.rfft(x)))
        assert peak == (900 if corpus.words[lab] == "no" else 300)
    speakers = corpus.meta["speaker"]
    for spk in set(speakers):  # a speaker's files share a split
        assert len(set(corpus.meta["split"][speakers == spk])) == 1
    fixed = load_word_folder(tmp_path, words=["yes", "no"], max_per_word=2)
    assert fixed.words == ("yes", "no") and len(fixed) == 4
    (tmp_path / "testing_list.txt").write_text("yes/aaaa_nohash_1.wav\nno/bbbb_nohash_2.wav\n")
    listed = load_word_folder(tmp_path)
    assert sorted(listed.split("test").meta["settings"]) == sorted(
        str(tmp_path / p) for p in ("yes/aaaa_nohash_1.wav", "no/bbbb_nohash_2.wav")
    )


def test_word_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"root/<word>/\*\.wav"):
        load_word_folder(tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    sf.write(tmp_path / "flat" / "a.wav", np.zeros(100, np.float32), 16000)
    with pytest.raises(ValueError, match=r"root/<word>/\*\.wav"):
        load_word_folder(tmp_path / "flat")
    _write_tree(tmp_path / "tree")
    with pytest.raises(ValueError, match="stop"):
        load_word_folder(tmp_path / "tree", words=["yes", "stop"])


def test_asterisk_digits_are_real_telephone_speech() -> None:
    digits = load_asterisk_digits()
    assert len(digits) == 10 and set(digits.meta["split"]) == {"test"}
    assert [DEFAULT_WORDS[i] for i in digits.labels] == list(DIGIT_WORDS)
    assert digits.waveforms.shape == (10, 16000) and digits.sample_rate == 16000
    for x in digits.waveforms:  # recorded at 8 kHz: almost no power above 4 kHz after resampling to 16 kHz
        spec = np.abs(np.fft.rfft(x)) ** 2
        assert spec[4100:].sum() < 0.01 * spec.sum()
        assert rms(x) == pytest.approx(0.05, rel=0.01)
    sub = load_asterisk_digits(["one", "two", "yes"])
    assert sub.words == ("one", "two", "yes") and sub.labels.tolist() == [0, 1]
    with pytest.raises(ValueError, match="digit"):
        load_asterisk_digits(["yes", "no"])


def test_asterisk_missing_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="asterisk-core-sounds-en-wav"):
        load_asterisk_digits(root=tmp_path)
