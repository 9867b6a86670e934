"""Speaker-prompt training items: another utterance of the speaker, then the target utterance.

At synthesis an aligned flow model sees a prompt (a whole utterance, its boundary-wrapped
phones with the aligner's durations) followed by the target text, and generates all of
the target. :func:`join_prompts` builds that situation from a batch: the prompt's frames
and symbols, then the target's without its opening boundary (the leading silence, as
VALL-E R's speaker mode does), and the masks that make the target the span to predict.

Shapes: B items, C mel bins, N frames, L symbols; primes are the joined sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nn_common import pad_stack

from ..data import check_joined_durations


@dataclass
class Joined:
    """A batch with speaker prompts joined in.

    Attributes:
        mel: ``[B, C, N']`` log-mels, zero-padded.
        lens: ``[B]`` frames.
        phonemes, durations: ``[B, L']`` symbols and their frames, 0-padded.
        phoneme_lens: ``[B]``.
        paired: bool ``[B]``, the items that got a prompt.
        infill: bool ``[B, N']``, a paired item's target frames (False elsewhere).
        duration_mask: bool ``[B, L']``, a paired item's target symbols (False elsewhere).
    """

    mel: torch.Tensor
    lens: torch.Tensor
    phonemes: torch.Tensor
    phoneme_lens: torch.Tensor
    durations: torch.Tensor
    paired: torch.Tensor
    infill: torch.Tensor
    duration_mask: torch.Tensor


def join_prompts(mel: torch.Tensor, lens: torch.Tensor, phonemes: torch.Tensor, phoneme_lens: torch.Tensor,
                 durations: torch.Tensor, index: torch.Tensor, prompt_mel: torch.Tensor, prompt_lens: torch.Tensor,
                 prompt_phonemes: torch.Tensor, prompt_phoneme_lens: torch.Tensor,
                 prompt_durations: torch.Tensor) -> Joined:
    """Put prompt ``index[b]`` (``-1``: none) before item ``b``.

    Args:
        mel, lens, phonemes, phoneme_lens, durations: the batch (``[B, C, N]``, ``[B]``,
            ``[B, L]``, ``[B]``, ``[B, L]``), each item's durations summing to its frames.
        index: ``[B]`` row of the prompt batch for each item, or -1.
        prompt_*: the prompts, the same layout (``[P, C, Np]``...).

    Raises:
        RecipeError: durations that do not sum to an item's frame count.
    """
    mels, syms, durs, infill, dmask = [], [], [], [], []
    for b in range(mel.shape[0]):
        d = durations[b, : phoneme_lens[b]]
        ph = phonemes[b, : phoneme_lens[b]]
        m = mel[b, :, : lens[b]]
        check_joined_durations(d, m.shape[-1], "item", b, "mel")
        j = int(index[b])
        if j < 0:
            mels.append(m)
            syms.append(ph)
            durs.append(d)
            infill.append(torch.zeros(m.shape[-1], dtype=torch.bool, device=m.device))
            dmask.append(torch.zeros(len(ph), dtype=torch.bool, device=m.device))
            continue
        pm = prompt_mel[j, :, : prompt_lens[j]]
        pd = prompt_durations[j, : prompt_phoneme_lens[j]]
        check_joined_durations(pd, pm.shape[-1], "prompt", j, "mel")
        target = m[:, int(d[0]):]  # the opening boundary's frames (leading silence) are left out
        mels.append(torch.cat([pm, target], dim=-1))
        syms.append(torch.cat([prompt_phonemes[j, : prompt_phoneme_lens[j]], ph[1:]]))
        durs.append(torch.cat([pd, d[1:]]))
        infill.append(torch.arange(mels[-1].shape[-1], device=m.device) >= pm.shape[-1])
        dmask.append(torch.arange(len(syms[-1]), device=m.device) >= len(pd))
    out_mel, out_lens = pad_stack(mels, 0.0)
    out_ph, out_ph_lens = pad_stack(syms, 0)
    return Joined(mel=out_mel, lens=out_lens.to(lens.device),
                  phonemes=out_ph, phoneme_lens=out_ph_lens.to(lens.device), durations=pad_stack(durs, 0)[0],
                  paired=index >= 0, infill=pad_stack(infill, False)[0], duration_mask=pad_stack(dmask, False)[0])
