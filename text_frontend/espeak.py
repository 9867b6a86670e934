"""Finding espeak-ng, resolving language codes, and one cached backend per language.

Where the espeak-ng library comes from, first match wins:

1. ``PHONEMIZER_ESPEAK_LIBRARY`` (and ``ESPEAK_DATA_PATH``) set by the user;
2. the ``espeakng-loader`` package, which ships the library and its data, so that
   ``pip install`` is enough on any machine;
3. a system espeak-ng (``apt install espeak-ng``), found by phonemizer itself.

phonemizer copies the espeak library into a temporary folder for every
``EspeakBackend`` it creates and never frees it (bootphon/phonemizer#94 style
leaks), so backends are created once per language and reused; a lock serializes
calls since espeak-ng keeps global state.
"""

from __future__ import annotations

import difflib
import functools
import logging
import os
import threading
from typing import TYPE_CHECKING

from .errors import EspeakNotFoundError, UnsupportedLanguageError

if TYPE_CHECKING:
    from phonemizer.backend import EspeakBackend

log = logging.getLogger(__name__)
# phonemizer warns whenever espeak-ng merges or splits words ("words count mismatch");
# we never rely on its word alignment, so its backends get a logger that only errors reach.
_phonemizer_log = logging.getLogger(f"{__name__}.phonemizer")
_phonemizer_log.setLevel(logging.ERROR)

# Codes people type that espeak-ng spells differently.
LANGUAGE_ALIASES = {
    "en": "en-us", "english": "en-us", "en-uk": "en-gb", "british": "en-gb",
    "fr": "fr-fr", "french": "fr-fr", "de-de": "de", "german": "de",
    "es-es": "es", "spanish": "es", "zh": "cmn", "zh-cn": "cmn", "cmn-cn": "cmn",
    "mandarin": "cmn", "chinese": "cmn", "zh-yue": "yue", "cantonese": "yue",
    "pt-pt": "pt", "it-it": "it", "ja-jp": "ja", "nl-nl": "nl", "ru-ru": "ru",
}

_lock = threading.RLock()
_backends: dict[str, "EspeakBackend"] = {}


@functools.lru_cache(maxsize=1)
def configure_espeak() -> str:
    """Point phonemizer at an espeak-ng library once; return where it came from.

    Raises:
        EspeakNotFoundError: no library was found anywhere.
    """
    from phonemizer.backend.espeak.wrapper import EspeakWrapper

    if os.environ.get("PHONEMIZER_ESPEAK_LIBRARY"):
        source = f"PHONEMIZER_ESPEAK_LIBRARY={os.environ['PHONEMIZER_ESPEAK_LIBRARY']}"
    else:
        try:
            import espeakng_loader
        except ImportError:
            espeakng_loader = None
        if espeakng_loader is not None and os.path.exists(espeakng_loader.get_library_path()):
            # Environment variables rather than EspeakWrapper.set_library(): worker
            # processes (phonemizer's njobs > 1, DataLoader workers) inherit them.
            os.environ["PHONEMIZER_ESPEAK_LIBRARY"] = espeakng_loader.get_library_path()
            os.environ["PHONEMIZER_ESPEAK_DATA_PATH"] = espeakng_loader.get_data_path()
            source = f"espeakng-loader ({espeakng_loader.get_library_path()})"
        else:
            source = "system espeak-ng"
    try:
        EspeakWrapper().version  # loads the library now, not at the first phonemize
    except (RuntimeError, OSError) as err:
        raise EspeakNotFoundError(
            f"espeak-ng could not be loaded ({source}: {err}). Fix: `pip install espeakng-loader` "
            "(ships espeak-ng), or `apt install espeak-ng`, or set PHONEMIZER_ESPEAK_LIBRARY "
            "to the path of libespeak-ng.so."
        ) from err
    log.debug("espeak-ng from %s", source)
    return source


@functools.lru_cache(maxsize=1)
def supported_languages() -> dict[str, str]:
    """All espeak-ng language codes of the loaded library, mapped to their names."""
    configure_espeak()
    from phonemizer.backend import EspeakBackend

    return dict(EspeakBackend.supported_languages())


def resolve_language(language: str) -> str:
    """Return the espeak-ng code for ``language`` (aliases and case/underscore forgiven).

    Raises:
        UnsupportedLanguageError: the code is unknown; the message lists close matches.
    """
    if not isinstance(language, str) or not language.strip():
        raise UnsupportedLanguageError("The language code is empty: give an espeak-ng code such as 'en-us'.")
    langs = supported_languages()
    code = language.strip().lower().replace("_", "-")
    code = LANGUAGE_ALIASES.get(code, code)
    if code in langs:
        return code
    by_name = {name.lower(): c for c, name in langs.items()}
    if code in by_name:
        return by_name[code]
    pool = sorted(set(langs) | set(LANGUAGE_ALIASES))
    close = difflib.get_close_matches(code, pool, n=5, cutoff=0.5)
    close += [c for c in pool if code.split("-")[0] == c.split("-")[0] and c not in close]
    hint = ", ".join(close[:8]) if close else "none"
    raise UnsupportedLanguageError(
        f"Unknown language {language!r}: espeak-ng has no such voice. Close matches: {hint}. "
        "Run `tts languages` for the full list."
    )


# Whisper's code for espeak-ng codes whose first part is not Whisper's (Chinese varieties
# are all "zh" to Whisper-base).
_WHISPER_CODES = {"cmn": "zh", "yue": "zh", "hak": "zh"}


def whisper_language(language: str) -> str:
    """The Whisper (ISO 639-1) code of a language given as anything :func:`resolve_language`
    takes: ``"english"`` and ``"en-us"`` -> ``"en"``, ``"cmn"`` -> ``"zh"``.

    Raises:
        UnsupportedLanguageError: the language is unknown to espeak-ng.
    """
    code = resolve_language(language).split("-")[0]
    return _WHISPER_CODES.get(code, code)


def get_backend(language: str) -> "EspeakBackend":
    """The shared espeak backend for a resolved language code (created on first use).

    It phonemizes with stress marks and punctuation kept; callers strip what they
    do not want, so one backend per language serves every option.
    """
    with _lock:
        backend = _backends.get(language)
        if backend is None:
            configure_espeak()
            from phonemizer.backend import EspeakBackend

            backend = EspeakBackend(
                language,
                preserve_punctuation=True,
                with_stress=True,
                language_switch="remove-flags",
                logger=_phonemizer_log,
            )
            _backends[language] = backend
        return backend


def backend_lock() -> threading.RLock:
    """The lock every call into espeak-ng must hold (espeak-ng keeps global state)."""
    return _lock
