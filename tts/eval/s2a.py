"""The S2A check of a MaskGCT model: resynthesis from the semantic tokens of real speech.

T2S and S2A fail differently: a model that babbles may have a T2S that does not read
its text, or an S2A that cannot turn even right tokens into speech. This check runs
S2A alone (``codec_lm.maskgct.synthesize_acoustic``) on the ground-truth semantic
tokens of each test utterance (the tokenizer's tokens of its audio, or the codec's
first codebook for ``codebook1`` models), decodes with the codec, and scores:

* WER (Whisper) of the resynthesis and of the original;
* SIM of the resynthesis to the original recording (``sim_original``: does the voice
  survive?) and to the prompt (``sim``, as in zero-shot evaluation; ``sim_ref`` is the
  original's to the same prompt);
* DNSMOS, and the real-time factor of S2A plus decoding.

The prompt (``prompt="other"``, the default) is another 3-5 s utterance of the same
speaker (:func:`tts.eval.cases.build_cases`); the output is the whole utterance, so its
WER is against its whole transcript. With ``prompt="prefix"`` the prompt is the first
``prefix_seconds`` of the utterance itself and S2A makes the rest; the scored audio is
then the prompt's codes (decoded as they are) followed by the generated ones, so its WER
over the whole transcript is partly the codec's.

An aligned model (``text_conditioning: aligned``) also reads the phoneme of every frame:
the phone aligner it names aligns each recording (prompt and target) to its transcript.

With ``given_codebooks=K`` S2A gets the recording's own codes of the first ``K``
codebooks it predicts and makes only the rest: the WER with ``K = 1, 2, ...`` against
``K = 0`` says which codebooks lose the words (``K`` = all of them is the codec's own
resynthesis).

A monotonic VALL-E (VALL-E R) gets the same check of its acoustic stage, the NAR: from the
recording's own first ``K >= 1`` codebooks (``K = 1``: what a perfect AR would hand it) it
fills the rest, reading the phonemes the model's phone aligner puts on the frames of the
prompt and of the utterance. Set against the codec decoding those ``K`` codebooks alone
(``tts eval codec --codebooks K``), it says whether the NAR's codebooks add words or noise.
With ``K = 0`` the AR writes codebook 1 too, but its phoneme pointer follows the
recording's own durations (the aligner's, in AR steps; the leading silence dropped)
instead of its stay / advance head: set against ``tts eval`` on the same items, it says
what the head's timing costs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from codec_lm.maskgct import synthesize_acoustic
from codec_lm.maskgct.synthesis import whole_prompt_frames
from codec_lm.valle import generate_nar, step_durations, synthesize
from nn_common import expand_by_durations

from ..audio import save
from ..data.manifests import speaker_of
from ..semantic import tokenize_audio
from .cases import _text, build_cases, save_cut_audio, spread_over_speakers
from .errors import EvalError
from .manifest import EvalItem, write_manifest
from .report import Evaluator
from .resynthesis import _mean
from .similarity import cosine_similarity
from .zero_shot import prepare_out_dir

PROMPTS = ("other", "prefix")


def _wav(cut, sample_rate: int) -> torch.Tensor:
    return torch.from_numpy(cut.resample(sample_rate).load_audio()[0])


def _frame_phones(synthesizer, wav: torch.Tensor, frames: int, cut) -> torch.Tensor:
    """The phoneme of each of the ``frames`` code frames of a recording, aligned to its transcript by the
    model's phone aligner: ``[frames]``."""
    return _aligned(synthesizer, wav, frames, cut)[1]


def run_s2a_check(cuts, synthesizer, out_dir: str | os.PathLike, prompt: str = "other", prefix_seconds: float = 3.0,
                  limit: int | None = None, evaluator=None, seed: int = 0, options: dict[str, Any] | None = None,
                  overwrite: bool = False, progress: Callable[[str, int, int], None] | None = None,
                  given_codebooks: int = 0):
    """Resynthesize every case's target from its own semantic tokens with S2A, and evaluate.

    Args:
        cuts: a test split's cuts (speaker-labelled, transcribed).
        synthesizer: a loaded :class:`tts.Synthesizer` of a MaskGCT model, or of a monotonic
            VALL-E (then ``given_codebooks`` >= 1 and ``prompt="other"``).
        out_dir: report folder (``prompts/``, ``reference/``, ``audio/``, manifest, report).
        prompt: ``"other"`` or ``"prefix"`` (see the module docstring).
        prefix_seconds: ``"prefix"``: the prompt's length (utterances shorter than twice this are skipped).
        seed: case ``k`` is sampled with ``seed + k``.
        options: MaskGCT options (``s2a_steps``, ``s2a_cfg``, ``temperature``, ``top_k``).
        given_codebooks: S2A gets the recording's own codes of the first this many codebooks it
            predicts and makes the rest: with 1 or 2 the WER says how much of the loss is in them.

    Returns:
        The :class:`EvalReport`; its rows also hold ``sim_original`` and its summary their mean.

    Raises:
        EvalError: not a MaskGCT or monotonic VALL-E model, an unknown prompt mode, a
            ``given_codebooks`` out of range, or no case to evaluate.
    """
    backend = synthesizer.backend
    if synthesizer.family == "valle":
        return _run_nar_check(cuts, synthesizer, out_dir, prompt, limit, evaluator, options, overwrite, progress,
                              given_codebooks, seed)
    if synthesizer.family != "maskgct":
        raise EvalError(f"The S2A check runs MaskGCT models (and VALL-E's NAR); '{synthesizer.info.path}' is a "
                        f"{synthesizer.family!r} model: pass a maskgct or valle model with --model.")
    if prompt not in PROMPTS:
        raise EvalError(f"Unknown prompt mode {prompt!r}: use one of {', '.join(PROMPTS)}.")
    sr = backend.sample_rate
    n_acoustic = backend.model.s2a.n_acoustic if backend.model.s2a is not None else 0
    if (isinstance(given_codebooks, bool) or not isinstance(given_codebooks, int)
            or not 0 <= given_codebooks <= n_acoustic):
        raise EvalError(f"--given-codebooks must be an integer from 0 to {n_acoustic} (the codebooks this model's S2A "
                        f"predicts), got {given_codebooks!r}.")
    if prompt == "other":
        pairs = [(c.target, c.prompt, c.text) for c in build_cases(cuts, limit)]
    else:
        long_enough = sorted((c for c in cuts if c.duration >= 2 * prefix_seconds and _text(c)), key=lambda c: c.id)
        if limit is not None and limit < len(long_enough):
            long_enough = sorted(spread_over_speakers(long_enough, limit, key=lambda c: speaker_of(c, "")),
                                 key=lambda c: c.id)
        pairs = [(c, None, _text(c)) for c in long_enough]
    if not pairs:
        raise EvalError(f"No utterance of at least {2 * prefix_seconds:g} s with a transcript: lower --prefix-seconds."
                        if prompt == "prefix" else "No evaluation case.")
    out = prepare_out_dir(out_dir, overwrite)
    for sub in ("prompts", "reference", "audio"):
        (out / sub).mkdir(exist_ok=True)
    model, codec, tokenizer = backend.model, backend.codec, backend.tokenizer
    sampling = backend._sampling(None, options or {})
    hop = model.config.semantic_hop
    device = next(model.parameters()).device
    items = []
    for k, (target, prompt_cut, text) in enumerate(pairs):
        ref = save_cut_audio(target, out / "reference" / f"{target.id}.wav", sr)
        wav = _wav(target, sr)
        with torch.inference_mode():
            t0 = time.perf_counter()
            codes = codec.encode(wav[None].to(device))[0]  # [Q, N]
            if prompt == "other":
                prompt_wav = _wav(prompt_cut, sr)
                prompt_codes = codec.encode(prompt_wav[None].to(device))[0]
                target_codes = codes
            else:
                frames = int(prefix_seconds * model.config.frame_rate) // hop * hop
                prompt_wav = wav[: frames * int(round(sr / model.config.frame_rate))]
                prompt_codes, target_codes = codes[:, :frames], codes[:, frames:]
            if tokenizer is not None:
                sem = tokenize_audio(tokenizer, [wav], sr)[0]
                prompt_sem = (tokenize_audio(tokenizer, [prompt_wav], sr)[0] if prompt == "other"
                              else sem[: frames // hop])
                target_sem = sem if prompt == "other" else sem[frames // hop:]
            else:  # codebook1: the semantic stream is the codes' first codebook
                prompt_sem, target_sem = None, target_codes[0]
            frame_text = None
            if model.config.aligned:
                if prompt == "other":
                    head = _frame_phones(synthesizer, prompt_wav, prompt_codes.shape[-1], prompt_cut)
                    frame_text = [torch.cat([head, _frame_phones(synthesizer, wav, codes.shape[-1], target)])]
                else:
                    frame_text = [_frame_phones(synthesizer, wav, codes.shape[-1], target)]
            sampling.seed = seed + k
            first = model.config.first_acoustic
            given = [target_codes[first: first + given_codebooks]] if given_codebooks else None
            gen = synthesize_acoustic(model, [prompt_codes], [target_sem], sampling,
                                      prompt_semantic=None if prompt_sem is None else [prompt_sem],
                                      frame_text=frame_text, given_codes=given)[0]
            gen = gen[:, : target_codes.shape[-1]]
            if prompt == "prefix":
                gen = torch.cat([prompt_codes.cpu(), gen], dim=-1)
                audio = codec.decode(gen[None].to(device))[0].float().cpu()
            else:  # decoded after the prompt frames it follows, as synthesis decodes
                used = whole_prompt_frames(model, prompt_codes.shape[-1],
                                           None if prompt_sem is None else len(prompt_sem))
                audio = backend.decode_after(prompt_codes[:, :used], gen)
            elapsed = time.perf_counter() - t0
        prompt_path = (save_cut_audio(prompt_cut, out / "prompts" / f"{prompt_cut.id}.wav", sr) if prompt == "other"
                       else _save(out / "prompts" / f"{target.id}.wav", prompt_wav, sr))
        items.append(_item(out, target.id, audio, sr, text, prompt_path, ref, elapsed / (wav.numel() / sr)))
        if progress:
            progress("resynthesize", k + 1, len(pairs))
    return _evaluate(items, out, synthesizer, evaluator, progress, sr,
                     {"prompt": prompt, "semantic": model.config.semantic_source,
                      "s2a_steps": list(sampling.s2a_steps), "s2a_cfg": sampling.s2a_cfg,
                      "given_codebooks": given_codebooks})


def _item(out, item_id: str, audio: torch.Tensor, sr: int, text: str, prompt_path: str, ref: str,
          rtf: float) -> EvalItem:
    """Save a resynthesis to ``out/audio/<id>.wav``; its :class:`EvalItem`."""
    path = _save(out / "audio" / f"{item_id}.wav", audio, sr)
    return EvalItem(item_id, audio=path, text=text, prompt=prompt_path, reference=ref, rtf=rtf)


def _evaluate(items, out, synthesizer, evaluator, progress, sr: int, check: dict):
    """Write the manifest, score the items (and their SIM to the originals), write the report."""
    write_manifest(items, out / "manifest.jsonl")
    evaluator = evaluator or Evaluator()
    report = evaluator.evaluate(items, progress=(lambda d, t, _i: progress("evaluate", d, t)) if progress else None)
    if evaluator.speaker is not None:
        for row, item in zip(report.rows, items):
            row["sim_original"] = cosine_similarity(evaluator.speaker.embed(item.audio, sr),
                                                    evaluator.speaker.embed(item.reference, sr))
    report.summary["sim_original"] = _mean(report.rows, "sim_original")
    report.summary["model"] = str(synthesizer.info.path)
    report.summary["s2a_check"] = check
    report.write(out, items)
    return report


def _run_nar_check(cuts, synthesizer, out_dir, prompt: str, limit, evaluator, options, overwrite: bool, progress,
                   given_codebooks: int, seed: int = 0):
    """VALL-E's acoustic stage alone: the NAR fills codebooks ``K + 1..Q`` of each test utterance from
    the recording's own first ``K`` (what a perfect AR would give it for ``K = 1``), reading the
    phonemes the model's phone aligner puts on the prompt's and the utterance's frames; greedy, as
    synthesis decodes the NAR (nothing is drawn for ``K >= 1``). ``options`` may hold
    ``nar_decode: expected`` (the codec decodes the expected vectors of the NAR's codebooks) and
    ``decode_codebooks: K`` (the NAR stops after codebook ``K``; ``K`` = ``given_codebooks``: the codec decodes
    the recording's own first ``K`` alone).
    ``K = 0``: the AR writes codebook 1 (case ``k`` drawn with ``seed + k``) with its pointer on
    the recording's own durations, and the NAR the rest (:func:`_with_durations`)."""
    backend = synthesizer.backend
    model, codec = backend.model, backend.codec
    q = model.config.n_codebooks
    if model.nar is None or not model.config.monotonic:
        raise EvalError(f"The NAR check runs monotonic VALL-E models with a NAR (VALL-E R); '{synthesizer.info.path}' "
                        "has none or no phone alignment.")
    if (isinstance(given_codebooks, bool) or not isinstance(given_codebooks, int)
            or not 0 <= given_codebooks <= q):
        raise EvalError(f"--given-codebooks must be an integer from 0 to {q} for a VALL-E model (0: the AR writes "
                        f"codebook 1 on the recording's own durations), got {given_codebooks!r}.")
    sampling = backend._sampling(None, options or {})
    if sampling.decode_codebooks is not None and not max(given_codebooks, 1) <= sampling.decode_codebooks <= q:
        raise EvalError(f"--decode-codebooks must be from {max(given_codebooks, 1)} (--given-codebooks) to {q} "
                        f"(the model's), got {sampling.decode_codebooks}.")
    if prompt != "other":
        raise EvalError("The VALL-E NAR check prompts with another utterance of the speaker: drop --prompt prefix.")
    pairs = [(c.target, c.prompt, c.text) for c in build_cases(cuts, limit)]
    out = prepare_out_dir(out_dir, overwrite)
    for sub in ("prompts", "reference", "audio"):
        (out / sub).mkdir(exist_ok=True)
    sr = backend.sample_rate
    device = next(model.parameters()).device
    items = []
    for k, (target, prompt_cut, text) in enumerate(pairs):
        ref = save_cut_audio(target, out / "reference" / f"{target.id}.wav", sr)
        wav, prompt_wav = _wav(target, sr), _wav(prompt_cut, sr)
        with torch.inference_mode():
            t0 = time.perf_counter()
            codes = codec.encode(wav[None].to(device))[0][:q].long()  # [Q, N]
            prompt_codes = codec.encode(prompt_wav[None].to(device))[0][:q].long()
            if given_codebooks == 0:
                audio = _with_durations(synthesizer, prompt_wav, prompt_codes, prompt_cut, wav, codes, text,
                                        replace(sampling, seed=seed + k))
            else:
                audio = _nar_fill(synthesizer, prompt_wav, prompt_codes, prompt_cut, wav, codes, target,
                                  given_codebooks, sampling)
            elapsed = time.perf_counter() - t0
        prompt_path = save_cut_audio(prompt_cut, out / "prompts" / f"{prompt_cut.id}.wav", sr)
        items.append(_item(out, target.id, audio, sr, text, prompt_path, ref, elapsed / (wav.numel() / sr)))
        if progress:
            progress("resynthesize", k + 1, len(pairs))
    return _evaluate(items, out, synthesizer, evaluator, progress, sr,
                     {"prompt": prompt, "stage": "valle_nar" if given_codebooks else "valle_ar_on_given_durations",
                      "given_codebooks": given_codebooks,
                      "nar_decode": sampling.nar_decode, "decode_codebooks": sampling.decode_codebooks or q})


def _nar_fill(synthesizer, prompt_wav, prompt_codes, prompt_cut, wav, codes, target, given_codebooks: int,
              sampling) -> torch.Tensor:
    """The NAR's codebooks after the recording's own first ``given_codebooks``, decoded: the waveform."""
    backend = synthesizer.backend
    model = backend.model
    device = next(model.parameters()).device
    phones = [_aligned(synthesizer, w, c.shape[-1], cut)  # (ids, frame phonemes) of prompt, target
              for w, c, cut in ((prompt_wav, prompt_codes, prompt_cut), (wav, codes, target))]
    text_ids = torch.tensor([phones[0][0] + phones[1][0]], device=device)
    upto = sampling.decode_codebooks or model.config.n_codebooks
    if upto == given_codebooks:  # nothing to fill: the codec decodes the recording's own first codebooks
        return backend.decode_after(prompt_codes, codes[:upto])
    expected = sampling.nar_decode == "expected"
    filled = generate_nar(model.nar, text_ids, torch.tensor([text_ids.shape[1]], device=device),
                          prompt_codes[None], torch.tensor([prompt_codes.shape[-1]], device=device),
                          codes[None, :given_codebooks], torch.tensor([codes.shape[-1]], device=device),
                          sampling.nar_temperature, None, phones[0][1][None].to(device),
                          phones[1][1][None].to(device), return_probs=expected, upto=upto)
    if expected:  # the codec decodes the expected vectors of the NAR's codebooks, as synthesis would
        return backend.decode_expected(prompt_codes, codes[:given_codebooks], filled[1][0])
    return backend.decode_after(prompt_codes, filled[0])


def _with_durations(synthesizer, prompt_wav, prompt_codes, prompt_cut, wav, codes, text: str, sampling):
    """VALL-E R on one case with its pointer on the recording's own durations: the waveform.

    The recording's aligned phonemes are ``[" "] + ids + [" "]``; its leading silence has no
    step in synthesis (the pointer starts on the first phoneme), the rest go on the step grid
    as training puts a target's (:func:`codec_lm.valle.step_durations`, at least one each)."""
    backend = synthesizer.backend
    g = backend.model.config.group_size
    fe = synthesizer.frontend()
    prompt_ids, prompt_durations = backend.prompt_durations(prompt_wav, prompt_codes.shape[-1],
                                                            list(fe.encode(_text(prompt_cut)).ids))
    ids = list(fe.encode(text).ids)
    _, frames = backend.prompt_durations(wav, codes.shape[-1], ids)
    frames = torch.as_tensor(frames)[1:]
    steps = step_durations(frames, int(frames.sum()) // g, g, at_least_one=True).tolist()
    out = synthesize(backend.model, [prompt_codes], [prompt_ids], [ids], sampling,
                     prompt_durations=[prompt_durations], target_steps=[steps])[0]
    return backend.decode_generated(prompt_codes, out)


def _aligned(synthesizer, wav: torch.Tensor, frames: int, cut) -> tuple[list[int], torch.Tensor]:
    """A recording's aligned (boundary-wrapped) phoneme ids and the phoneme of each of its
    ``frames`` code frames: ``(ids, [frames])``."""
    ids = list(synthesizer.frontend().encode(_text(cut)).ids)
    aligned, durations = synthesizer.backend.prompt_durations(wav, frames, ids)
    return aligned, expand_by_durations(torch.tensor([aligned]), durations[None], frames)[0]


def _save(path, wav: torch.Tensor, sample_rate: int) -> str:
    save(path, wav, sample_rate, overwrite=True)
    return str(path)
