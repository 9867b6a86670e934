"""Speaker-prompt training items for aligned MaskGCT: another utterance of the speaker, then the item.

At synthesis MaskGCT sees a prompt (3-5 s of another recording, its semantic tokens and its
phones as the aligner measures them) followed by the target, while the random prefix
prompts of training are 0.1-0.4 of the item itself: shorter and seamless. The S2A check
measured what that costs (`tiny-maskgct`'s card). :func:`join_code_prompts` builds the
synthesis situation from a batch with prompts (``recipes.data.SpeakerPromptDataset``):

- the prompt is cut to whole semantic tokens (``hop`` code frames each), the frames cut
  taken from the end of its phones (its closing silence);
- the item loses its opening silence down to what is left of a whole token, so that its
  own tokens stay aligned with its frames (flow's pairs drop all of it, VALL-E R's
  speaker mode likewise);
- codes, semantic tokens, phones and durations are joined, and the prompt's frame count
  goes to the model as that item's prompt.

Shapes: B items, Q codebooks, N frames, S tokens, L symbols; primes are the joined sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nn_common import pad_stack

from ..common import RecipeError
from ..data import check_joined_durations

CODE_PAD, SEMANTIC_PAD = -1, -1


@dataclass
class JoinedCodes:
    """A code batch with speaker prompts joined in.

    Attributes:
        codes: ``[B, Q, N']`` padded with -1; ``code_lens`` ``[B]``.
        semantic: ``[B, S']`` padded with -1 (each item: ``ceil(code_lens / hop)`` tokens).
        phonemes, durations: ``[B, L']`` symbols and their frames, 0-padded; ``phoneme_lens`` ``[B]``.
        prompt_frames: ``[B]`` a joined item's prompt frames (a multiple of ``hop``), -1
            for items without a prompt (the model draws theirs).
    """

    codes: torch.Tensor
    code_lens: torch.Tensor
    semantic: torch.Tensor
    phonemes: torch.Tensor
    phoneme_lens: torch.Tensor
    durations: torch.Tensor
    prompt_frames: torch.Tensor


def _trim_end(symbols: torch.Tensor, durations: torch.Tensor, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Take ``frames`` frames off the end of a phone sequence (its last symbols first; emptied ones go)."""
    d = durations.clone()
    k = len(d)
    while frames > 0 and k > 0:
        cut = min(frames, int(d[k - 1]))
        d[k - 1] -= cut
        frames -= cut
        if d[k - 1] == 0:
            k -= 1
    return symbols[:k], d[:k]


def join_code_prompts(batch: dict, hop: int) -> JoinedCodes:
    """Put prompt ``batch["prompt_index"][b]`` (-1: none) of ``batch["prompt_batch"]`` before item ``b``.

    Args:
        batch: a code batch with ``semantic`` and ``durations`` (``recipes.data.CodesDataModule``
            with ``semantic`` and ``durations``), ``prompt_index`` and ``prompt_batch``.
        hop: code frames per semantic token.

    Raises:
        RecipeError: durations that do not sum to an item's frames, or a prompt shorter than one token.
    """
    prompts = batch["prompt_batch"]
    codes_out, sem_out, syms, durs, prompt_frames = [], [], [], [], []
    for b in range(batch["codes"].shape[0]):
        n = int(batch["code_lens"][b])
        ph = batch["phonemes"][b, : batch["phoneme_lens"][b]]
        d = batch["durations"][b, : batch["phoneme_lens"][b]]
        check_joined_durations(d, n, "item", b, "codes")
        codes, sem = batch["codes"][b, :, :n], batch["semantic"][b, : -(-n // hop)]
        j = int(batch["prompt_index"][b])
        if j < 0:
            codes_out.append(codes)
            sem_out.append(sem)
            syms.append(ph)
            durs.append(d)
            prompt_frames.append(-1)
            continue
        pn = int(prompts["code_lens"][j])
        pd = prompts["durations"][j, : prompts["phoneme_lens"][j]]
        check_joined_durations(pd, pn, "prompt", j, "codes")
        whole = pn // hop * hop
        if whole == 0:
            raise RecipeError(f"Prompt {j} has {pn} code frames, less than one semantic token ({hop}): "
                              "raise data.min_duration.")
        p_syms, p_durs = _trim_end(prompts["phonemes"][j, : prompts["phoneme_lens"][j]], pd, pn - whole)
        drop = int(d[0]) // hop * hop  # the opening silence, in whole tokens
        if drop >= n:
            drop = 0
        d = d.clone()
        d[0] -= drop
        keep = 0 if int(d[0]) > 0 else 1  # an emptied opening boundary goes
        codes_out.append(torch.cat([prompts["codes"][j, :, :whole], codes[:, drop:]], dim=-1))
        sem_out.append(torch.cat([prompts["semantic"][j, : whole // hop], sem[drop // hop:]]))
        syms.append(torch.cat([p_syms, ph[keep:]]))
        durs.append(torch.cat([p_durs, d[keep:]]))
        prompt_frames.append(whole)
    codes, code_lens = pad_stack(codes_out, CODE_PAD)  # padded along the frames: [B, Q, N']
    semantic, _ = pad_stack(sem_out, SEMANTIC_PAD)
    phonemes, phoneme_lens = pad_stack(syms, 0)
    device = batch["codes"].device
    return JoinedCodes(codes=codes, code_lens=code_lens.to(device), semantic=semantic,
                       phonemes=phonemes, phoneme_lens=phoneme_lens.to(device), durations=pad_stack(durs, 0)[0],
                       prompt_frames=torch.tensor(prompt_frames, dtype=torch.long, device=device))
