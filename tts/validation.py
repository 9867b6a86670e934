"""Checks of what a caller hands the toolkit, each a small function that the CLI, the API
and the web page call before any model work: seeds, batch sizes, devices, output folders,
text files, prompt transcripts, model folders and the model's own limits (codebooks,
sentence lengths). Each raises a one-line :class:`tts.errors.TTSError` that is also a
``ValueError`` and names the fix.

File permissions are read with :func:`os.access`, which asks the kernel exactly what an
``open()`` would be allowed (ACLs and read-only file systems included). For root it
answers yes to a ``chmod 555`` folder, and rightly: root's write there succeeds.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from codec_lm.maskgct.config import MaskGCTConfig

from .backends import BACKENDS
from .checkpoint import CheckpointError, checked_config
from .errors import InputError, OutputPathError, TTSError
from .options import OptionError

# Seeds go to torch.manual_seed with an offset per sentence batch (and per candidate);
# 2^32 - 1 keeps them in every generator's range and matches NumPy's.
SEED_MAX = 2**32 - 1
# One sentence is generated in one piece, and each step attends over all its frames: the
# work grows with the square of its length. Measured on one CPU thread, one sentence with
# --duration (peak resident memory of the whole process, wall time): tiny-flow 60 s at
# NFE 2 1.13 GiB, 49 s; 120 s at NFE 1 1.13 GiB, 125 s (half an hour at its NFE 16);
# tiny-maskgct 60 s at --steps 2 1.19 GiB, 33 s. --duration 3600 (the option's maximum
# for a whole text) on one sentence ran out of memory after 90 s. The models were trained
# on clips of at most 20 s (the recipes' max_utterance_duration); 60 s per sentence keeps
# a run within minutes and memory, and a longer text still takes a longer --duration.
SENTENCE_MAX_SECONDS = 60.0


def check_seed(seed: Any, what: str = "seed") -> int | None:
    """``seed`` as an int in ``[0, SEED_MAX]`` (None stays None: a random draw); ``what``
    names it in the message (``--seed``, ``"seed"`` of a JSONL line).

    Raises:
        InputError: not a whole number, or out of range.
    """
    if seed is None:
        return None
    if isinstance(seed, float) and seed.is_integer():
        seed = int(seed)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise InputError(f"{what} must be a whole number from 0 to {SEED_MAX}, got {seed!r}; "
                         "leave it out for a random one.")
    return seed


def check_batch_size(batch_size: Any) -> int:
    """Sentences per model call: an int >= 1.

    Raises:
        InputError: anything else.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch_size must be a whole number >= 1 (sentences per model call), got {batch_size!r}.")
    return batch_size


def check_device(device: Any):
    """``None`` -> CUDA when available, else CPU; ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` (or a
    ``torch.device`` of those kinds) -> that device, if this machine has it.

    Raises:
        InputError: another device, or CUDA (or GPU N) asked for where there is none.
    """
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    text = str(device).strip().lower() if isinstance(device, (str, torch.device)) else None
    kind, _, index = (text or "").partition(":")
    if kind not in ("cpu", "cuda") or (index and (kind == "cpu" or not index.isdigit())):
        raise InputError(f"Unknown device {device!r}: use 'cpu', 'cuda' or 'cuda:N' (--device).")
    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InputError(f"Device {str(device)!r} was asked for, but CUDA is not available here: "
                             "use --device cpu.")
        if int(index or 0) >= count:
            raise InputError(f"Device {str(device)!r} was asked for, but this machine has {count} CUDA "
                             f"device(s): use cuda:0 to cuda:{count - 1}.")
    return torch.device(text)


def check_writable_folder(folder: str | os.PathLike, what: str) -> Path:
    """``folder`` exists and this process may create files in it (``what``: the file to be
    written there, for the message).

    Raises:
        OutputPathError: it is missing, not a folder, or read-only for this user.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise OutputPathError(f"Cannot write {what}: the folder '{folder}' does not exist. Create it first.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"Cannot write {what}: the folder '{folder}' is not writable for you. Choose "
                              "another folder (-o), or make it writable (chmod u+w).")
    return folder


def check_readable_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` is a file this process may read (``what``: "Audio file", "Text file"...).

    Raises:
        InputError: missing, a folder, or unreadable for this user.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} '{path}' is a folder, not a file: give the path of a file.")
    if not path.exists():
        raise InputError(f"{what} '{path}' does not exist: check the path.")
    if not os.access(path, os.R_OK):
        raise InputError(f"{what} '{path}' cannot be read: you have no permission to read it. "
                         "Make it readable (chmod u+r) or copy it somewhere you can read.")
    return path


def read_text_file(path: str | os.PathLike, what: str = "Text file") -> str:
    """The contents of a UTF-8 text file (``--text-file``; ``what`` names it in messages).

    Raises:
        InputError: missing, a folder, unreadable, or not UTF-8 text (a binary file).
    """
    path = check_readable_file(path, what)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"{what} '{path}' cannot be read ({err.strerror or err}): check the file.") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{what} '{path}' is not UTF-8 text (byte {err.start} cannot be decoded): give a plain "
                         "text file, or convert it (iconv -t UTF-8).") from None
    if "\x00" in text:
        raise InputError(f"{what} '{path}' holds NUL bytes, so it is a binary file, not text: give a plain "
                         "text file.")
    return text


def check_prompt_text(prompt_text: Any, flag: str = "--prompt-text") -> str | None:
    """A prompt transcript that was given must have words (None: transcribe with Whisper).

    Raises:
        InputError: not a string, or empty.
    """
    if prompt_text is None:
        return None
    if not isinstance(prompt_text, str):
        raise InputError(f"The prompt transcript ({flag}) must be text, got {type(prompt_text).__name__}.")
    if not prompt_text.strip():
        raise InputError(f"The prompt transcript ({flag}) is empty: give the words the prompt says, or leave "
                         f"{flag} out to have Whisper transcribe it.")
    return prompt_text


def check_model_dirs(dirs: Iterable[str | os.PathLike], flag: str) -> None:
    """Each folder given to list more models from exists.

    Raises:
        TTSError: one is missing or not a folder.
    """
    for folder in dirs:
        if not Path(folder).is_dir():
            raise TTSError(f"{flag} '{folder}' is not a folder: give a folder that holds checkpoint folders.")


def check_tts_model(info) -> None:
    """A checkpoint folder (:class:`tts.checkpoint.CheckpointInfo`) is a text-to-speech model.

    Raises:
        CheckpointError: it is of another family (an aligner, a codec...).
    """
    if info.family not in BACKENDS:
        raise CheckpointError(f"'{info.path.name}' is not a text-to-speech model (its family is {info.family!r}): "
                              f"use a model of family {', '.join(BACKENDS)} (e.g. tiny-flow).")


def check_model_limits(info, options: Mapping[str, Any]) -> None:
    """Options that must fit the model's own config, from its model.yaml alone: one
    ``--s2a-steps`` count per acoustic codebook at most.

    Raises:
        OptionError: more counts than the model has acoustic codebooks.
        CheckpointError: a config the model's dataclass refuses.
    """
    steps = options.get("s2a_steps")
    if info.family == "maskgct" and isinstance(steps, tuple):
        acoustic = len(checked_config(info, MaskGCTConfig, "MaskGCT").acoustic_codebooks)
        if len(steps) > acoustic:
            raise OptionError(f"--s2a-steps gives {len(steps)} counts, but {info.path.name} decodes {acoustic} "
                              f"acoustic codebooks: give at most {acoustic} (the last one repeats).")


def sentence_seconds(duration: float | None, lengths: Sequence[int]) -> list[float | None]:
    """A whole text's ``duration`` shared between its sentences by phoneme count
    (``lengths``), checked against :data:`SENTENCE_MAX_SECONDS` (None: each sentence's
    length comes from the prompt's speaking rate).

    Raises:
        OptionError: a sentence would get more than the limit.
    """
    if duration is None:
        return [None] * len(lengths)
    total = sum(lengths)
    shares = [duration * n / total for n in lengths] if len(lengths) > 1 else [duration]
    if shares and max(shares) > SENTENCE_MAX_SECONDS:
        raise OptionError(f"--duration {duration:g} gives a sentence {max(shares):.0f} s; a sentence can be at most "
                          f"{SENTENCE_MAX_SECONDS:g} s (it is generated in one piece): give a shorter --duration "
                          "or more sentences.")
    return shares
