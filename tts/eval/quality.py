"""Speech quality without a reference: DNSMOS (Microsoft's P.835 predictor).

The ONNX models ship inside the ``speechmos`` package, so this runs offline. For a
clip it predicts, on the 1-5 MOS scale:

* ``sig``: speech signal quality (distortion of the voice itself),
* ``bak``: background quality (noise, intrusiveness),
* ``ovrl``: overall quality — the number TTS papers quote as "DNSMOS",
* ``p808``: the older P.808 overall-MOS model, for comparison with work that used it.

As in the reference implementation, a clip shorter than 9.01 s is repeated (doubled
until it is at least that long) and every 9.01 s window, 1 s apart, is scored and
the scores averaged. Kept as is so numbers compare with published ones; it makes
the cost uneven: a 2.5 s clip (10 s after doubling) is one window, a 4 s clip
(16 s) seven, each about 0.25 s of CPU. SIG/BAK/OVRL
go through the published polynomial calibration, which can step slightly
outside [1, 5] for extreme inputs; values are reported as computed.

Example::

    mos = DNSMOS()
    mos.score("out.wav").ovrl        # 3.2
    mos.score(wav, 24000).as_dict()  # {'ovrl': ..., 'sig': ..., 'bak': ..., 'p808': ...}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import EvalError, ModelFolderError, require
from .inputs import EVAL_SAMPLE_RATE, AudioLike, describe, to_mono_numpy

# Shorter clips are looped to the window length, so a few milliseconds would be
# scored as a buzz: refuse what cannot be speech.
MIN_SECONDS = 0.25


@dataclass(frozen=True)
class DNSMOSScore:
    """DNSMOS of one clip (MOS scale, about 1-5)."""

    ovrl: float
    sig: float
    bak: float
    p808: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class DNSMOS:
    """The DNSMOS P.835 (and P.808) predictor of ``speechmos``, loaded once.

    Args:
        personalized: use the personalized-DNSMOS model (penalizes interfering
            talkers); the standard model is what TTS papers report.
    """

    sample_rate = EVAL_SAMPLE_RATE

    def __init__(self, personalized: bool = False) -> None:
        require("onnxruntime")
        dnsmos = require("speechmos.dnsmos", "speechmos")
        root = Path(dnsmos.__file__).resolve().parent
        primary = root / ("pdnsmos_models" if personalized else "dnsmos_models") / "sig_bak_ovr.onnx"
        p808 = root / "dnsmos_models" / "model_v8.onnx"
        for f in (primary, p808):
            if not f.is_file():
                raise ModelFolderError(
                    f"The DNSMOS model '{f}' is missing from the speechmos package: reinstall it with "
                    "pip install --force-reinstall speechmos."
                )
        self.personalized = personalized
        self._model = dnsmos.DNSMOS(str(primary), str(p808))

    def __repr__(self) -> str:
        return f"DNSMOS(personalized={self.personalized})"

    def score(self, audio: AudioLike, sample_rate: int | None = None) -> DNSMOSScore:
        """DNSMOS of one clip.

        Args:
            audio: a path, an ``Audio``, or a waveform ``[T]`` at any rate
                (resampled to 16 kHz).
            sample_rate: the rate of a raw waveform.

        Raises:
            EvalError: the clip is shorter than 0.25 s or silent.
        """
        wav = to_mono_numpy(audio, sample_rate, self.sample_rate)
        if wav.size < MIN_SECONDS * self.sample_rate:
            raise EvalError(
                f"{describe(audio)} is {wav.size / self.sample_rate:.2f} s long; DNSMOS needs at least "
                f"{MIN_SECONDS} s of audio."
            )
        if not np.any(wav):
            raise EvalError(f"{describe(audio)} is digital silence: DNSMOS is undefined for it.")
        # The model was trained on 16-bit recordings: samples beyond full scale
        # would have been clipped there too (speechmos rejects them outright).
        wav = np.clip(wav, -1.0, 1.0)
        out = self._model(wav, self.sample_rate, self.personalized)
        return DNSMOSScore(
            ovrl=float(out["ovrl_mos"]),
            sig=float(out["sig_mos"]),
            bak=float(out["bak_mos"]),
            p808=float(out["p808_mos"]),
        )
