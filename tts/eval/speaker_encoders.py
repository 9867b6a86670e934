"""Speaker encoders for speaker similarity (SIM): waveform -> embedding.

* ``resemblyzer`` (default): Resemblyzer's GE2E LSTM, weights bundled in the pip
  package, 256-d. Offline everywhere; the usual choice of small TTS projects.
* ``ecapa``: SpeechBrain ECAPA-TDNN (``speechbrain/spkrec-ecapa-voxceleb``), loaded
  with ``EncoderClassifier`` from a LOCAL folder holding ``hyperparams.yaml``,
  ``embedding_model.ckpt`` and its companions, 192-d.
* ``wavlm``: Transformers' ``WavLMForXVector`` (``microsoft/wavlm-base-plus-sv``)
  from a LOCAL folder holding ``config.json``, the weights and
  ``preprocessor_config.json``, 512-d.

All take 16 kHz mono ``float32`` ``[T]`` and return a ``float32`` ``[D]`` vector;
nothing is downloaded. Loading a folder's ``hyperparams.yaml`` runs the code it
names (HyperPyYAML), so give only folders you trust.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np

from .errors import EvalError, ModelFolderError, require
from .inputs import EVAL_SAMPLE_RATE

ENCODERS = ("resemblyzer", "ecapa", "wavlm")


def _torch_device(device: str | None) -> str:
    import torch

    text = (device or "auto").lower()
    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if text.startswith("cuda") and not torch.cuda.is_available():
        raise EvalError(f"Device '{device}' was asked for, but PyTorch sees no CUDA GPU: use device='cpu'.")
    if not (text == "cpu" or re.fullmatch(r"cuda(:\d+)?", text)):
        raise EvalError(f"Unknown device '{device}': use 'auto', 'cpu', 'cuda' or 'cuda:N'.")
    return text


def _check_folder(path: str | os.PathLike | None, kind: str, needs: list[list[str]], how: str) -> Path:
    """Validate a local model folder: it exists and holds one file of each group."""
    if path is None:
        raise ModelFolderError(f"The {kind} speaker encoder needs a local model folder: pass path=... ({how}).")
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ModelFolderError(f"{kind} model folder '{folder}' does not exist: check the path ({how}).")
    if not folder.is_dir():
        raise ModelFolderError(f"'{folder}' is a file; the {kind} encoder needs the model folder ({how}).")
    missing = [" or ".join(group) for group in needs if not any((folder / n).is_file() for n in group)]
    if missing:
        raise ModelFolderError(f"'{folder}' is not a {kind} model folder: missing {', '.join(missing)} ({how}).")
    return folder


class SpeakerEncoder:
    """Base class: ``embed(wav [T] at 16 kHz) -> [D]``.

    Attributes:
        name: short name for reports (``"resemblyzer"``, ``"ecapa"``, ``"wavlm"``).
        sample_rate: the rate ``embed`` expects (16000 for all three).
    """

    name = "base"
    sample_rate = EVAL_SAMPLE_RATE

    def embed(self, wav: np.ndarray) -> np.ndarray:
        """Embedding of one utterance.

        Args:
            wav: mono ``float32`` ``[T]`` at :attr:`sample_rate`.

        Returns:
            ``float32`` ``[D]``.
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ResemblyzerEncoder(SpeakerEncoder):
    """Resemblyzer's ``VoiceEncoder`` with its bundled ``pretrained.pt``.

    Input is volume-normalized and long silences are cut (Resemblyzer's own
    ``preprocess_wav``, webrtcvad) before the utterance embedding is averaged over
    1.6 s partial windows.
    """

    name = "resemblyzer"

    def __init__(self, device: str | None = "auto") -> None:
        with warnings.catch_warnings():
            # resemblyzer imports a scipy.ndimage path deprecated since SciPy 1.8, and its
            # webrtcvad imports pkg_resources, which setuptools warns about: neither is the user's to fix.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
            resemblyzer = require("resemblyzer", "resemblyzer")
        self.device = _torch_device(device)
        self._model = resemblyzer.VoiceEncoder(device=self.device, verbose=False)
        self._audio = require("resemblyzer.audio", "resemblyzer")

    def embed(self, wav: np.ndarray) -> np.ndarray:
        # Resemblyzer's preprocess_wav, minus its librosa resampling (input is 16 kHz).
        ra = self._audio
        wav = ra.normalize_volume(np.asarray(wav, dtype=np.float32), ra.audio_norm_target_dBFS, increase_only=True)
        trimmed = ra.trim_long_silences(np.clip(wav, -1.0, 1.0))
        if trimmed.size >= self.sample_rate // 10:
            wav = trimmed
        # else webrtcvad found (almost) no voice, e.g. in noise: embed what there is
        # rather than fail; the low similarity then says what happened.
        return np.asarray(self._model.embed_utterance(wav), dtype=np.float32)


class EcapaEncoder(SpeakerEncoder):
    """SpeechBrain ECAPA-TDNN from a local folder (``EncoderClassifier``).

    Args:
        path: folder with ``hyperparams.yaml`` and ``embedding_model.ckpt`` (the
            files of ``speechbrain/spkrec-ecapa-voxceleb``).
        device: ``"auto"``, ``"cpu"``, ``"cuda[:N]"``.
    """

    name = "ecapa"
    _HOW = (
        "a local copy of speechbrain/spkrec-ecapa-voxceleb: hyperparams.yaml, embedding_model.ckpt, "
        "mean_var_norm_emb.ckpt, classifier.ckpt, label_encoder.txt"
    )

    def __init__(self, path: str | os.PathLike | None, device: str | None = "auto") -> None:
        self.path = _check_folder(path, "ECAPA", [["hyperparams.yaml"], ["embedding_model.ckpt"]], self._HOW)
        self.device = _torch_device(device)
        require("speechbrain")
        from speechbrain.inference.classifiers import EncoderClassifier
        from speechbrain.utils.fetching import FetchConfig, LocalStrategy

        yaml_text = (self.path / "hyperparams.yaml").read_text(encoding="utf-8")
        # The official yaml names its files through `pretrained_path`, a Hub id;
        # point it at the folder, or SpeechBrain would try the Hub.
        overrides = {"pretrained_path": str(self.path)} if re.search(r"^pretrained_path\s*:", yaml_text, re.M) else {}
        try:
            self._model = EncoderClassifier.from_hparams(
                source=str(self.path),
                savedir=None,  # load in place: no copies or symlinks in the working directory
                overrides=overrides,
                run_opts={"device": self.device},
                fetch_config=FetchConfig(allow_network=False),
                local_strategy=LocalStrategy.NO_LINK,
            )
        except Exception as err:  # yaml, missing files, shape mismatches: all "bad folder"
            raise ModelFolderError(
                f"Cannot load the ECAPA model in '{self.path}': {type(err).__name__}: {err}. Expected {self._HOW}."
            ) from err
        self._model.eval()

    def embed(self, wav: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            emb = self._model.encode_batch(torch.from_numpy(wav).reshape(1, -1), normalize=False)
        return emb.reshape(-1).float().cpu().numpy()


class WavLMEncoder(SpeakerEncoder):
    """Transformers ``WavLMForXVector`` from a local folder.

    Args:
        path: folder with ``config.json`` (architecture ``WavLMForXVector``), weights
            (``model.safetensors`` or ``pytorch_model.bin``) and ``preprocessor_config.json``
            (the files of ``microsoft/wavlm-base-plus-sv``).
        device: ``"auto"``, ``"cpu"``, ``"cuda[:N]"``.
    """

    name = "wavlm"
    _HOW = (
        "a local copy of microsoft/wavlm-base-plus-sv: config.json, model.safetensors or "
        "pytorch_model.bin, preprocessor_config.json"
    )

    def __init__(self, path: str | os.PathLike | None, device: str | None = "auto") -> None:
        self.path = _check_folder(
            path,
            "WavLM",
            [["config.json"], ["model.safetensors", "pytorch_model.bin"], ["preprocessor_config.json"]],
            self._HOW,
        )
        self.device = _torch_device(device)
        transformers = require("transformers")
        try:
            config = transformers.AutoConfig.from_pretrained(self.path, local_files_only=True)
            archs = getattr(config, "architectures", None) or []
            if config.model_type != "wavlm" or (archs and "WavLMForXVector" not in archs):
                raise ModelFolderError(
                    f"'{self.path}' holds {archs or config.model_type}, not a WavLMForXVector: speaker "
                    "similarity needs the x-vector head, e.g. microsoft/wavlm-base-plus-sv."
                )
            model, info = transformers.WavLMForXVector.from_pretrained(
                self.path, local_files_only=True, output_loading_info=True
            )
            self._extractor = transformers.AutoFeatureExtractor.from_pretrained(self.path, local_files_only=True)
        except ModelFolderError:
            raise
        except Exception as err:
            raise ModelFolderError(
                f"Cannot load the WavLM model in '{self.path}': {type(err).__name__}: {err}. Expected {self._HOW}."
            ) from err
        if info.get("missing_keys"):
            # A randomly initialised head would give meaningless similarities.
            raise ModelFolderError(
                f"The weights in '{self.path}' lack {len(info['missing_keys'])} tensors of WavLMForXVector "
                f"(e.g. {sorted(info['missing_keys'])[0]}): use a speaker-verification checkpoint such as "
                "microsoft/wavlm-base-plus-sv."
            )
        self._model = model.eval().to(self.device)

    def embed(self, wav: np.ndarray) -> np.ndarray:
        import torch

        inputs = self._extractor(wav, sampling_rate=self.sample_rate, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch's mask-type deprecation inside WavLM
            emb = self._model(**inputs).embeddings
        return emb.reshape(-1).float().cpu().numpy()


def load_speaker_encoder(
    name: str = "resemblyzer", path: str | os.PathLike | None = None, device: str | None = "auto"
) -> SpeakerEncoder:
    """Create a speaker encoder by name.

    Args:
        name: ``"resemblyzer"`` (bundled weights), ``"ecapa"`` or ``"wavlm"`` (both
            need ``path``).
        path: the local model folder for ``ecapa`` / ``wavlm``.
        device: ``"auto"``, ``"cpu"``, ``"cuda[:N]"``.

    Raises:
        EvalError: an unknown name.
        ModelFolderError: a missing or invalid folder.
    """
    key = name.lower()
    if key == "resemblyzer":
        return ResemblyzerEncoder(device)
    if key in ("ecapa", "speechbrain", "ecapa-tdnn"):
        return EcapaEncoder(path, device)
    if key in ("wavlm", "wavlm-sv"):
        return WavLMEncoder(path, device)
    raise EvalError(f"Unknown speaker encoder '{name}': use one of {', '.join(ENCODERS)}.")
