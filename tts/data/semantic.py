"""Fitting a semantic tokenizer on a corpus, and measuring how phonetic its tokens are.

* :func:`fit_semantic_tokenizer` (``tts prepare semantic-tokenizer``): features of one
  stage of a phone aligner's speech encoder over a training manifest, mean-pooled to the
  token rate (optionally standardized), then k-means (``aligner.kmeans``); written as a checkpoint
  folder of family ``semantic`` that names the aligner (:mod:`tts.semantic`).
* :func:`semantic_purity` and :func:`codebook_purity` (``tts eval semantic``): phone
  purity and PNMI (``aligner.metrics.phone_purity``) of a tokenizer's tokens, or of a
  codec's first codebook, against the per-phone durations ``tts prepare align`` stored
  in a manifest. Both are scored per mel frame (93.75 Hz; a token counts for each of the
  ``pool`` frames it covers), so a 23.4 Hz tokenizer and a 93.75 Hz codebook are
  compared on the same frames; the tokenizer is also scored per token (its majority phone).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import torch

from aligner.kmeans import kmeans
from aligner.metrics import phone_purity
from aligner.semantic import SemanticConfig, SemanticTokenizer

from ..aligner import load_aligner
from ..checkpoint import CheckpointError
from ..semantic import load_semantic_tokenizer, mel_batch, save_semantic_tokenizer, tokenize_audio
from .manifests import ALIGNMENT_KEY, DataError, frame_durations, load_cuts


def _waveform(cut) -> torch.Tensor:
    return torch.from_numpy(cut.resample(24000).load_audio()[0])


def collect_features(cuts: list, tokenizer, max_tokens: int, progress: Callable[[int, int], None] | None = None,
                     batch: int = 8) -> torch.Tensor:
    """Pooled features ``[M, D]`` of ``cuts`` (in their order) with the tokenizer's current
    statistics, at most ``max_tokens`` rows (the cuts stop being read there)."""
    rows, total = [], 0
    for start in range(0, len(cuts), batch):
        group = cuts[start: start + batch]
        mel, lens = mel_batch([_waveform(c) for c in group], tokenizer.centroids.device)
        feats, token_lens = tokenizer.features(mel, lens)
        for f, n in zip(feats, token_lens.tolist()):
            rows.append(f[:n].cpu())
            total += n
        if progress:
            progress(min(start + batch, len(cuts)), len(cuts))
        if total >= max_tokens:
            break
    return torch.cat(rows)[:max_tokens]


def fit_semantic_tokenizer(cuts_path: str | os.PathLike, aligner: str | os.PathLike, out: str | os.PathLike, *,
                           clusters: int = 512, stage: str = "context", pool: int = 4,
                           standardize: bool = False,
                           max_tokens: int = 200_000, iterations: int = 30, seed: int = 0,
                           eval_cuts: str | os.PathLike | None = None, command: str | None = None,
                           overwrite: bool = False, device: str = "cpu",
                           progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Fit a tokenizer on a training manifest and write its folder (with a model card).

    Args:
        cuts_path: the training ``cuts_<split>.jsonl.gz`` (audio is read; shuffled with ``seed``).
        aligner: the phone aligner's folder or shipped name.
        out: the tokenizer folder to write.
        clusters, stage, pool, standardize: :class:`aligner.semantic.SemanticConfig`.
        max_tokens: feature rows k-means sees at most (200 000 tokens: 2.4 h of speech).
        iterations: Lloyd iterations at most.
        eval_cuts: an aligned manifest (``tts prepare align``) to measure phone purity on,
            for the card (None: the card says it was not measured).
        command: the command line, for the card.

    Returns:
        Summary: folder, config, tokens fitted on, k-means iterations and inertia, purity
        (when ``eval_cuts``), seconds.

    Raises:
        DataError: an empty manifest, a bad setting, or too few tokens for the clusters.
    """
    t0 = time.perf_counter()
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise DataError(f"Tokenizer folder '{out}' exists and is not empty: pass --overwrite or choose another --out.")
    model, _, aligner_dir = load_aligner(aligner, device)
    try:
        config = SemanticConfig(stage=stage, pool=pool, clusters=clusters, dim=model.config.dim,
                                standardize=standardize)
        tokenizer = SemanticTokenizer(config, model)
    except ValueError as err:
        raise DataError(f"Cannot build this tokenizer: {err}.") from err
    cuts = list(load_cuts(cuts_path))
    if not cuts:
        raise DataError(f"'{cuts_path}' holds no cuts: give the training manifest (cuts_train.jsonl.gz).")
    random.Random(seed).shuffle(cuts)  # a max_tokens sample spread over the corpus' speakers
    feats = collect_features(cuts, tokenizer, max_tokens,
                             progress=(lambda d, t: progress("features", d, t)) if progress else None)
    if len(feats) < 2 * clusters:
        raise DataError(f"{len(feats)} tokens of features for {clusters} clusters: give more audio or fewer "
                        "--clusters (k-means needs several tokens per cluster).")
    if standardize:
        tokenizer.mean.copy_(feats.mean(0))
        tokenizer.std.copy_(feats.std(0).clamp(min=1e-5))
        feats = (feats - tokenizer.mean.cpu()) / tokenizer.std.cpu()
    if progress:
        progress("k-means", 0, 1)
    centroids, info = kmeans(feats, clusters, iterations=iterations, seed=seed)
    tokenizer.centroids.copy_(centroids)
    training = {"steps": info["iterations"], "data": str(Path(cuts_path).parent), "command": command,
                "tokens": len(feats), "inertia": round(info["inertia"], 4)}
    summary = {"out": str(out), "stage": stage, "clusters": clusters, "pool": pool, "standardize": standardize,
               "tokens": len(feats), "hours": round(len(feats) / tokenizer.frame_rate / 3600, 3),
               "iterations": info["iterations"], "inertia": round(info["inertia"], 4)}
    card = tokenizer_card(summary, aligner_dir, cuts_path, command, purity=None, eval_cuts=None)
    save_semantic_tokenizer(out, tokenizer, aligner_dir, card=card, meta={"training": training}, overwrite=overwrite)
    if eval_cuts is not None:
        # Measured with the folder as stored (float16 centroids), as users will load it.
        try:
            stored = load_semantic_tokenizer(out, device)
        except CheckpointError as err:  # cannot happen for a folder just written; say so plainly if it does
            raise DataError(f"The tokenizer just written to '{out}' does not load: {err}") from err
        purity = semantic_purity(eval_cuts, stored)
        summary["purity"] = purity
        (out / "README.md").write_text(tokenizer_card(summary, aligner_dir, cuts_path, command, purity, eval_cuts),
                                       encoding="utf-8")
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    return summary


def tokenizer_card(summary: dict, aligner_dir: Path, cuts_path, command: str | None, purity: dict | None,
                   eval_cuts) -> str:
    """The model card (``README.md``) of a fitted tokenizer."""
    name = Path(summary["out"]).name
    lines = [f"# Semantic tokenizer ({name})", "",
             f"Discrete speech tokens for MaskGCT's T2S stage: k-means ({summary['clusters']} clusters) of the "
             f"`{summary['stage']}` stage of the phone aligner `{Path(aligner_dir).name}`'s speech encoder, averaged "
             f"over {summary['pool']} mel frames (one token per {summary['pool']} frames of the 93.75 Hz MelRVQ "
             "codec), "
             + ("standardized per dimension, " if summary["standardize"] else "")
             + "nearest centroid. The aligner comes from its own folder (model.yaml: dependencies); this folder "
               "holds only the centroids and feature statistics (float16).", "",
             "| fact | value |", "|---|---|",
             f"| aligner | {Path(aligner_dir).name} (model.yaml: dependencies) |",
             f"| fitted on | {summary['tokens']} tokens ({summary['hours']} h) of `{cuts_path}` |",
             f"| k-means | k-means++ seeding, {summary['iterations']} Lloyd iterations, mean squared distance "
             f"{summary['inertia']} |",
             f"| command | `{command or 'unknown'}` |", "",
             "## Use", "", "```python",
             "from tts.semantic import load_semantic_tokenizer, tokenize_audio",
             f"tok = load_semantic_tokenizer(\"{name}\")",
             "tokens = tokenize_audio(tok, [wav_24khz])[0]   # [S] at 23.4375 tokens/s",
             "```", "", "```bash",
             f"tts prepare features --cuts DATA/codes/cuts_train_aligned_codes.jsonl.gz --kind semantic "
             f"--tokenizer {name} --out DATA/semantic",
             "```", "", "## Measured", ""]
    if purity is None:
        lines += ["Not measured yet: `tts eval semantic --tokenizer "
                  f"{name} --cuts DATA/cuts_dev_aligned.jsonl.gz --out eval/{name}`."]
    else:
        frame, token = purity["frame"], purity["token"]
        lines += [f"Phone purity on `{eval_cuts}` ({purity['cuts']} utterances; the phones are the aligner's "
                  "per-phone durations stored by `tts prepare align`):", "",
                  "| scored per | frames | purity | PNMI | clusters used |", "|---|---|---|---|---|",
                  f"| mel frame (93.75 Hz) | {frame['frames']} | {frame['purity']:.3f} | {frame['pnmi']:.3f} | "
                  f"{frame['clusters']} |",
                  f"| token ({summary['pool']} frames, its majority phone) | {token['frames']} | "
                  f"{token['purity']:.3f} | {token['pnmi']:.3f} | {token['clusters']} |", "",
                  "```bash", f"tts eval semantic --tokenizer {name} --cuts {eval_cuts} --out eval/{name}", "```"]
    return "\n".join(lines) + "\n"


def _frame_phones(cut, n_frames: int) -> list[str]:
    """The aligned phone symbol of each of the cut's ``n_frames`` mel frames (93.75 Hz)."""
    sup = cut.supervisions[0] if len(cut.supervisions) == 1 else None
    items = (sup.alignment or {}).get(ALIGNMENT_KEY) if sup is not None else None
    if not items:
        raise DataError(f"Cut {cut.id!r} has no phone alignment: give a manifest written by `tts prepare align` "
                        "(cuts_<split>_aligned.jsonl.gz).")
    rate = (sup.custom or {}).get("align", {}).get("frame_rate", 93.75)
    durations = frame_durations(items, rate, n_frames)
    return [it.symbol for it, d in zip(items, durations) for _ in range(d)]


def _score(frame_tokens: list[int], frame_phones: list[str], token_rows: list[tuple[int, str]] | None) -> dict:
    out = {"frame": phone_purity(frame_tokens, frame_phones)}
    if token_rows is not None:
        out["token"] = phone_purity([t for t, _ in token_rows], [p for _, p in token_rows])
    return out


def semantic_purity(cuts_path: str | os.PathLike, tokenizer, limit: int | None = None,
                    progress: Callable[[int, int], None] | None = None, batch: int = 8) -> dict:
    """Phone purity of a tokenizer's tokens on an aligned manifest (see the module docstring).

    Returns:
        ``{"frame": {...}, "token": {...}, "cuts": n}`` with :func:`aligner.metrics.phone_purity`'s keys.

    Raises:
        DataError: an empty manifest or cuts without alignments.
    """
    cuts = list(load_cuts(cuts_path))[:limit]
    if not cuts:
        raise DataError(f"'{cuts_path}' holds no cuts.")
    pool = tokenizer.config.pool
    frame_tokens, frame_phones, token_rows = [], [], []
    for start in range(0, len(cuts), batch):
        group = cuts[start: start + batch]
        wavs = [_waveform(c) for c in group]
        for cut, wav, tokens in zip(group, wavs, tokenize_audio(tokenizer, wavs)):
            phones = _frame_phones(cut, wav.numel() // 256 + 1)  # Vocos mel frames (centred)
            up = tokens.repeat_interleave(pool).tolist()[: len(phones)]
            frame_tokens += up
            frame_phones += phones[: len(up)]
            for s, token in enumerate(tokens.tolist()):
                group_phones = phones[s * pool: (s + 1) * pool]
                if group_phones:  # its majority phone (the earliest among ties)
                    token_rows.append((token, max(group_phones, key=group_phones.count)))
        if progress:
            progress(min(start + batch, len(cuts)), len(cuts))
    return {**_score(frame_tokens, frame_phones, token_rows), "cuts": len(cuts)}


def codebook_purity(cuts_path: str | os.PathLike, codebook: int = 0, limit: int | None = None) -> dict:
    """Phone purity of one codebook of the stored codec codes of an aligned code manifest
    (``tts prepare features --kind codes`` over a ``*_aligned`` manifest): the baseline.

    Raises:
        DataError: cuts without codes or without alignments, or a codebook they do not have.
    """
    cuts = list(load_cuts(cuts_path))[:limit]
    if not cuts:
        raise DataError(f"'{cuts_path}' holds no cuts.")
    frame_tokens, frame_phones = [], []
    for cut in cuts:
        if not cut.has_custom("codes"):
            raise DataError(f"Cut {cut.id!r} has no stored codes: give a manifest written by `tts prepare features "
                            "--kind codes`, or pass --tokenizer to score a semantic tokenizer instead.")
        codes = cut.load_custom("codes")
        if not 0 <= codebook < codes.shape[1]:
            raise DataError(f"The codes have {codes.shape[1]} codebooks; codebook {codebook + 1} does not exist.")
        phones = _frame_phones(cut, codes.shape[0])
        frame_tokens += codes[:, codebook].tolist()
        frame_phones += phones
    return {**_score(frame_tokens, frame_phones, None), "cuts": len(cuts)}
