"""Offline speech synthesis of single words with Debian's synthesisers: espeak-ng, flite, festival.

Each synthesiser runs as a subprocess writing a wav file (festival in batches, one process
per batch of utterances, since it takes ~0.2 s to start). A *voice* here is a speaker
identity used to split train from test: an espeak-ng variant (its timbre; the accent is
sampled per utterance), or a recorded speaker behind flite/festival voices (flite ``kal``,
``kal16`` and festival ``kal_diphone`` are the same speaker, as are flite ``slt`` and
festival ``cmu_us_slt_arctic_hts``). espeak-ng variants that produce identical audio are
merged into one voice by a probe synthesis, so no test voice is a renamed training voice.

A missing synthesiser raises :class:`SynthesizerMissing` naming the Debian package to install.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache, lru_cache
from hashlib import sha1
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm import tqdm

from advgeom.checks import check_choice, check_int

SYNTHS = ("espeak", "flite", "festival")
PACKAGES = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival"}
EXECUTABLES = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival"}

# espeak-ng's English accents with their own (non-mbrola) voice definitions.
ESPEAK_ACCENTS = (
    "en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029", "en-us-nyc",
)  # fmt: skip
ESPEAK_VARIANT_DIRS = (
    Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v"),
    Path("/usr/lib/aarch64-linux-gnu/espeak-ng-data/voices/!v"),
    Path("/usr/share/espeak-ng-data/voices/!v"),
)

# flite voice -> (speaker identity, nominal mean f0 in Hz measured on "yes no seven").
# awb_time is a limited-domain (talking clock) voice and is left out.
FLITE_VOICES = {"kal": ("kal", 100.0), "kal16": ("kal", 100.0), "awb": ("awb", 130.0), "rms": ("rms", 105.0),
                "slt": ("slt", 170.0)}  # fmt: skip
# festival voice -> (speaker identity, Debian package, voice directory).
FESTIVAL_VOICES = {
    "kal_diphone": ("kal", "festvox-kallpc16k", Path("/usr/share/festival/voices/english/kal_diphone")),
    "ked_diphone": ("ked", "festvox-kdlpc16k", Path("/usr/share/festival/voices/english/ked_diphone")),
    "cmu_us_slt_arctic_hts": ("slt", "festvox-us-slt-hts", Path("/usr/share/festival/voices/us/cmu_us_slt_arctic_hts")),
}
FESTIVAL_BATCH = 40
_WORD = re.compile(r"^[A-Za-z][A-Za-z' -]*$")


class SynthesizerMissing(RuntimeError):
    """A speech synthesiser (or one of its voices) is not installed; the message names the Debian package."""


def check_word(word: str) -> str:
    """Return ``word`` if it is plain text a synthesiser can say (letters, spaces, apostrophes, hyphens)."""
    if not isinstance(word, str) or not _WORD.match(word):
        raise ValueError(f"word {word!r} must be letters (with optional spaces, apostrophes or hyphens)")
    return word


def require(synth: str) -> str:
    """Path of ``synth``'s executable; raise :class:`SynthesizerMissing` naming the package if absent."""
    check_choice("synth", synth, SYNTHS)
    path = shutil.which(EXECUTABLES[synth])
    if path is None:
        pkg = PACKAGES[synth]
        raise SynthesizerMissing(
            f"speech synthesiser {EXECUTABLES[synth]!r} not found on PATH: install the Debian package "
            f"'{pkg}' (sudo apt-get install {pkg}; .ci/install-system.sh lists every package advgeom needs)"
        )
    if synth == "festival":
        for name, (_, pkg, folder) in FESTIVAL_VOICES.items():
            if not folder.is_dir():
                raise SynthesizerMissing(
                    f"festival voice {name!r} not found at {folder}: install the Debian package '{pkg}' "
                    f"(sudo apt-get install {pkg})"
                )
    return path


@cache
def synth_version(synth: str) -> str:
    """Version string of ``synth`` (part of corpus cache keys: a new synthesiser may sound different)."""
    exe = require(synth)
    flag = {"espeak": "--version", "flite": "--version", "festival": "--version"}[synth]
    out = subprocess.run([exe, flag], capture_output=True, text=True, timeout=30)
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


@dataclass(frozen=True)
class Voice:
    """A speaker identity: ``synth`` family, ``speaker`` (the unit of the train/test split) and its ``names``.

    ``names`` are the synthesiser voices (or espeak-ng variants) that sound as this speaker.
    """

    synth: str
    speaker: str
    names: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.synth}:{self.speaker}"


@dataclass(frozen=True)
class Job:
    """One utterance to synthesise. ``settings`` are synthesiser-specific (see :func:`sample_settings`)."""

    word: str
    synth: str
    voice: str
    settings: tuple[tuple[str, float | str], ...] = field(default_factory=tuple)

    def setting(self, name: str) -> float | str:
        return dict(self.settings)[name]

    def describe(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.settings)


def espeak_variants() -> list[str]:
    """Names of the installed espeak-ng voice variants (``+name``), sorted; names with spaces are skipped."""
    for folder in ESPEAK_VARIANT_DIRS:
        if folder.is_dir():
            return sorted(p.name for p in folder.iterdir() if p.is_file() and " " not in p.name)
    out = subprocess.run([require("espeak"), "--voices=variant"], capture_output=True, text=True, check=True)
    names = [line.split()[-1].removeprefix("!v/") for line in out.stdout.splitlines()[1:] if line.strip()]
    return sorted(n for n in names if " " not in n)


def _run(cmd: Sequence[str], what: str) -> None:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}")


def _read(path: Path) -> tuple[np.ndarray, int]:
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    if audio.shape[0] == 0:
        raise RuntimeError(f"synthesiser wrote an empty file {path}")
    return audio.mean(axis=1), int(sr)


def _espeak_cmd(job: Job, out: Path) -> list[str]:
    accent = job.setting("accent")
    return [
        require("espeak"), "-v", f"{accent}+{job.voice}", "-s", str(int(job.setting("wpm"))),
        "-p", str(int(job.setting("pitch"))), "-w", str(out), job.word,
    ]  # fmt: skip


def _flite_cmd(job: Job, out: Path) -> list[str]:
    return [
        require("flite"), "-voice", job.voice, "--setf", f"duration_stretch={float(job.setting('stretch')):.4f}",
        "--setf", f"int_f0_target_mean={float(job.setting('f0')):.2f}", "-t", job.word, "-o", str(out),
    ]  # fmt: skip


def _festival_script(jobs: Sequence[Job], outs: Sequence[Path]) -> str:
    lines = []
    for job, out in zip(jobs, outs, strict=True):
        text = job.word.replace("\\", "").replace('"', "")
        lines += [
            f"(voice_{job.voice})",
            f"(Parameter.set 'Duration_Stretch {float(job.setting('stretch')):.4f})",
            f'(set! advgeom_utt (Utterance Text "{text}"))',
            "(utt.synth advgeom_utt)",
            f'(utt.save.wave advgeom_utt "{out}" \'riff)',
        ]
    return "\n".join(lines) + "\n"


def _run_task(task: list[tuple[int, Job]], folder: Path) -> list[tuple[int, np.ndarray, int]]:
    """Synthesise one task (a single espeak/flite utterance, or a festival batch) and read the results."""
    outs = [folder / f"u{i}.wav" for i, _ in task]
    synth = task[0][1].synth
    if synth == "festival":
        script = folder / f"batch{task[0][0]}.scm"
        script.write_text(_festival_script([j for _, j in task], outs))
        _run([require("festival"), "--batch", str(script)], "festival")
    else:
        (i, job), out = task[0], outs[0]
        _run(_espeak_cmd(job, out) if synth == "espeak" else _flite_cmd(job, out), synth)
    results = []
    for (i, _), out in zip(task, outs, strict=True):
        if not out.is_file():
            raise RuntimeError(f"{synth} did not write {out} for job {task}")
        audio, sr = _read(out)
        out.unlink()
        results.append((i, audio, sr))
    return results


def synthesize(
    jobs: Sequence[Job], *, workers: int = 2, progress: bool = True, desc: str = "synthesising words"
) -> list[tuple[np.ndarray, int]]:
    """Synthesise every job; returns ``(waveform float32 mono, sample_rate)`` in job order.

    Runs ``workers`` subprocesses at a time (threads waiting on processes); festival jobs are
    batched. The output does not depend on ``workers`` (each job is a deterministic command).
    """
    workers = check_int("workers", workers, minimum=1)
    for synth in sorted({j.synth for j in jobs}):
        require(synth)
    tasks: list[list[tuple[int, Job]]] = []
    festival: list[tuple[int, Job]] = []
    for i, job in enumerate(jobs):
        if job.synth == "festival":
            festival.append((i, job))
        else:
            tasks.append([(i, job)])
    tasks += [festival[k : k + FESTIVAL_BATCH] for k in range(0, len(festival), FESTIVAL_BATCH)]
    results: list[tuple[np.ndarray, int] | None] = [None] * len(jobs)
    with tempfile.TemporaryDirectory(prefix="advgeom-synth-") as tmp, ThreadPoolExecutor(workers) as pool:
        bar = tqdm(total=len(jobs), desc=desc, disable=not progress, unit="word")
        for done in pool.map(lambda t: _run_task(t, Path(tmp)), tasks):
            for i, audio, sr in done:
                results[i] = (audio, sr)
            bar.update(len(done))
        bar.close()
    return [r for r in results if r is not None]


@lru_cache(maxsize=8)
def _espeak_groups(variants: tuple[str, ...], version: str) -> tuple[tuple[str, ...], ...]:
    probe = [Job("seven up", "espeak", v, (("accent", "en-us"), ("wpm", 175), ("pitch", 50))) for v in variants]
    audio = synthesize(probe, progress=False)
    groups: dict[str, list[str]] = defaultdict(list)
    for v, (x, _) in zip(variants, audio, strict=True):
        groups[sha1(np.round(x * 32767).astype(np.int16).tobytes()).hexdigest()].append(v)
    return tuple(sorted(tuple(sorted(g)) for g in groups.values()))


def voices(synths: Iterable[str] = SYNTHS) -> list[Voice]:
    """The speaker identities of the requested synthesisers (each checked to be installed).

    espeak-ng: one voice per distinct-sounding variant (found by a probe synthesis, ~1 s);
    flite and festival: one voice per recorded speaker (a speaker heard through both
    synthesisers is one voice per synthesiser family, and :func:`speaker_of` links them).
    """
    out: list[Voice] = []
    for synth in synths:
        check_choice("synth", synth, SYNTHS)
        require(synth)
        if synth == "espeak":
            for group in _espeak_groups(tuple(espeak_variants()), synth_version("espeak")):
                out.append(Voice("espeak", group[0], group))
        else:
            table = FLITE_VOICES if synth == "flite" else FESTIVAL_VOICES
            by_speaker: dict[str, list[str]] = defaultdict(list)
            for name, spec in table.items():
                by_speaker[spec[0]].append(name)
            out += [Voice(synth, spk, tuple(names)) for spk, names in sorted(by_speaker.items())]
    return out


def speaker_of(voice: Voice) -> str:
    """The identity used for the train/test split: espeak variants are their own; recorded speakers are shared
    between flite and festival (``kal``, ``slt``), so they must fall on the same side of the split."""
    return voice.key if voice.synth == "espeak" else f"recorded:{voice.speaker}"


def sample_settings(voice: Voice, rng: np.random.Generator) -> tuple[str, tuple[tuple[str, float | str], ...]]:
    """Draw a synthesiser voice name and its speaking settings for one utterance of ``voice``.

    espeak-ng: accent (one of :data:`ESPEAK_ACCENTS`), rate 130-220 words/min, pitch 20-80 (of 0-99).
    flite: duration stretch 0.8-1.3 (slower when > 1), mean f0 = nominal x 0.8-1.25 (log-uniform).
    festival: duration stretch 0.8-1.3 (its voices' pitch is varied by the corpus' speed factor).
    """
    name = voice.names[int(rng.integers(len(voice.names)))] if voice.synth != "espeak" else voice.names[0]
    if voice.synth == "espeak":
        accent = ESPEAK_ACCENTS[int(rng.integers(len(ESPEAK_ACCENTS)))]
        return name, (("accent", accent), ("wpm", int(rng.integers(130, 221))), ("pitch", int(rng.integers(20, 81))))
    stretch = round(float(rng.uniform(0.8, 1.3)), 3)
    if voice.synth == "flite":
        f0 = round(FLITE_VOICES[name][1] * float(np.exp(rng.uniform(np.log(0.8), np.log(1.25)))), 1)
        return name, (("stretch", stretch), ("f0", f0))
    return name, (("stretch", stretch),)
