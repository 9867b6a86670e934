"""``prepare_tinyvoices``: synthesize, check and describe a TinyVoices corpus.

Output folder::

    OUT/plan.json                       the deterministic plan (arguments, speakers, jobs)
    OUT/audio/<speaker>/<id>.flac       24 kHz mono 16-bit
    OUT/{recordings,supervisions,cuts}_<split>.jsonl.gz
    OUT/speakers.json                   speaker -> engine, voice, perturbation, split
    OUT/tinyvoices.json                 summary: utterances, hours, speakers per split
    OUT/rejected.jsonl                  utterances dropped for being outside 3-15 s

Resumable: a rerun with the same arguments skips every finished file. Parallel:
``num_jobs`` threads each drive one engine/sox subprocess at a time.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import soundfile as sf

from ..manifests import SPLITS, DataError, write_split
from .engines import EngineError, missing_tools, synthesize
from .plan import MAX_SECONDS, MIN_SECONDS, PLAN_VERSION, Job, extend_train, extend_voice_changes, make_plan
from .texts import sentence_pool
from .voices import Speaker, base_voices

Progress = Callable[[int, int], None]  # (done, total)


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _load_or_make_plan(out: Path, hours: float, seed: int, extra_train_hours: float = 0.0,
                       voice_change_hours: float = 0.0) -> tuple[dict[str, Speaker], list[Job]]:
    plan_file = out / "plan.json"
    if plan_file.is_file():
        plan = json.loads(plan_file.read_text(encoding="utf-8"))
        made = (plan.get("hours"), plan.get("seed"), plan.get("extra_train_hours", 0.0),
                plan.get("voice_change_hours", 0.0))
        if made != (hours, seed, extra_train_hours, voice_change_hours) or plan.get("version") != PLAN_VERSION:
            extra = f" --extra-train-hours {made[2]:g}" if made[2] else ""
            extra += f" --voice-change-hours {made[3]:g}" if made[3] else ""
            raise DataError(
                f"'{out}' holds a TinyVoices corpus made with --hours {made[0]} --seed {made[1]}{extra}: "
                "rerun with those arguments to resume it, or choose another --out."
            )
        speakers = {s["id"]: Speaker.from_dict(s) for s in plan["speakers"]}
        jobs = [Job(j["id"], speakers[j["speaker"]], j["text"], j["split"]) for j in plan["jobs"]]
        return speakers, jobs
    if out.exists() and any(out.iterdir()):
        raise DataError(f"'{out}' is not empty and holds no TinyVoices plan: choose an empty or new --out folder.")
    voices = base_voices()
    missing = missing_tools({v.engine for v in voices} | {"espeak", "flite"})
    if missing:
        raise DataError(
            f"TinyVoices needs {', '.join(missing)}: install them with "
            "`sudo apt-get install espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k sox fortunes` "
            "(or run `make setup` as root)."
        )
    try:
        pool = sentence_pool()
        speaker_list, jobs = make_plan(hours, seed, voices, pool)
        jobs += extend_train(jobs, extra_train_hours, seed, pool)
        changed, changed_jobs = extend_voice_changes(jobs, voice_change_hours, seed, pool)
        speaker_list, jobs = speaker_list + changed, jobs + changed_jobs
    except (ValueError, FileNotFoundError) as err:
        raise DataError(str(err)) from err
    out.mkdir(parents=True, exist_ok=True)
    _write_json(plan_file, {
        "version": PLAN_VERSION, "hours": hours, "seed": seed, "extra_train_hours": extra_train_hours,
        **({"voice_change_hours": voice_change_hours} if voice_change_hours else {}),
        "speakers": [sp.to_dict() for sp in speaker_list], "jobs": [j.to_dict() for j in jobs],
    })
    return {sp.id: sp for sp in speaker_list}, jobs


def _audio_path(out: Path, job: Job) -> Path:
    return out / "audio" / job.speaker.id / f"{job.id}.flac"


def prepare_tinyvoices(
    out: str | os.PathLike, hours: float = 5.0, seed: int = 0, num_jobs: int | None = None,
    progress: Progress | None = None, extra_train_hours: float = 0.0, voice_change_hours: float = 0.0,
) -> dict:
    """Synthesize (or finish) a TinyVoices corpus in ``out``; return its summary.

    Args:
        out: output folder (created; must be empty or an earlier run's output).
        hours: target hours of speech over all splits.
        seed: determines speakers, splits, sentences and perturbations.
        num_jobs: parallel engine processes (default: all CPU cores).
        progress: called as ``progress(done, total)`` after each utterance.
        extra_train_hours: more training speech on top of the ``hours`` plan, from sentences
            it leaves unused, read by its training speakers (:func:`.plan.extend_train`); the
            test and dev splits are those of the same ``hours`` and ``seed`` without it.
        voice_change_hours: more training speech in new voices: the training flite/festival
            voices changed into the female range by Praat's Change Gender
            (:func:`.plan.extend_voice_changes`); test and dev splits unchanged, as above.

    Raises:
        DataError: missing tools or text data, a folder holding something else, or
            more than 1 % of the utterances failing to synthesize.
    """
    out = Path(out)
    t0 = time.perf_counter()
    speakers, jobs = _load_or_make_plan(out, hours, seed, extra_train_hours, voice_change_hours)
    rejected_file = out / "rejected.jsonl"
    rejected: dict[str, float] = {}
    if rejected_file.is_file():
        for line in rejected_file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            rejected[row["id"]] = row["duration"]
    pending = [j for j in jobs if j.id not in rejected and not _audio_path(out, j).is_file()]
    lock = threading.Lock()
    failures: list[str] = []
    done = len(jobs) - len(pending)
    if progress:
        progress(done, len(jobs))

    def work(job: Job) -> None:
        path = _audio_path(out, job)
        synthesize(job.speaker, job.text, path)
        duration = sf.info(str(path)).duration
        if not MIN_SECONDS <= duration <= MAX_SECONDS:
            path.unlink()
            with lock, open(rejected_file, "a", encoding="utf-8") as f:
                f.write(json.dumps({"id": job.id, "duration": round(duration, 3)}) + "\n")
                rejected[job.id] = duration

    with ThreadPoolExecutor(max_workers=num_jobs or os.cpu_count() or 1) as pool:
        futures = {pool.submit(work, j): j for j in pending}
        for fut in as_completed(futures):
            try:
                fut.result()
            except EngineError as err:
                failures.append(f"{futures[fut].id}: {err}")
            done += 1
            if progress:
                progress(done, len(jobs))
    if len(failures) > 0.01 * len(jobs):
        raise DataError(f"{len(failures)} utterances failed to synthesize (first: {failures[0]}). "
                        "Rerun the same command to retry them.")
    summary = _write_manifests(out, speakers, [j for j in jobs if j.id not in rejected and _audio_path(out, j).is_file()])
    summary.update(seed=seed, hours_requested=hours, extra_train_hours=extra_train_hours,
                   voice_change_hours=voice_change_hours, rejected=len(rejected), failed=len(failures),
                   seconds=round(time.perf_counter() - t0, 1))
    _write_json(out / "tinyvoices.json", summary)
    return summary


def _write_manifests(out: Path, speakers: dict[str, Speaker], jobs: list[Job]) -> dict:
    from lhotse import Recording, RecordingSet, SupervisionSegment, SupervisionSet

    summary: dict = {"splits": {}}
    for split in SPLITS:
        chosen = [j for j in jobs if j.split == split]
        recordings, supervisions = [], []
        for job in chosen:
            rec = Recording.from_file(_audio_path(out, job), recording_id=job.id)
            recordings.append(rec)
            supervisions.append(SupervisionSegment(
                id=job.id, recording_id=job.id, start=0.0, duration=rec.duration, channel=0, text=job.text,
                speaker=job.speaker.id, language="English",
                custom={"engine": job.speaker.base.engine, "voice": job.speaker.base.voice},
            ))
        cuts = write_split(out, split, RecordingSet.from_recordings(recordings),
                           SupervisionSet.from_segments(supervisions))
        summary["splits"][split] = {
            "utterances": len(cuts),
            "hours": round(sum(c.duration for c in cuts) / 3600, 3),
            "speakers": len({j.speaker.id for j in chosen}),
        }
    used = sorted({j.speaker.id for j in jobs})
    unseen = {j.speaker.id for j in jobs if j.split == "test_unseen"}
    _write_json(out / "speakers.json",
                {s: {**speakers[s].to_dict(), "split": "test_unseen" if s in unseen else "train"} for s in used})
    summary["speakers"] = len(used)
    summary["hours"] = round(sum(v["hours"] for v in summary["splits"].values()), 3)
    return summary
