"""`tts web`: a local web page (Gradio) for synthesis and speech editing.

The page is a thin layer over :class:`tts.Synthesizer`, like the CLI:

- :mod:`tts.web.inputs`: what the page accepts (uploads only, size and length limits, seed);
- :mod:`tts.web.models`: the models it offers and the cache that loads each one once;
- :mod:`tts.web.service`: :class:`WebService`, the page's actions as plain Python
  (synthesize, edit), raising the same one-line :class:`tts.errors.TTSError` messages as
  `tts synth` and `tts edit`; the tests drive it in-process;
- :mod:`tts.web.spectrogram`: the mel-spectrogram image of a result;
- :mod:`tts.web.widgets`: each model family's option widgets, from :mod:`tts.options`;
- :mod:`tts.web.app`: the Gradio page (:func:`build_app`) and :func:`launch` with safe defaults.

Gradio (the ``[web]`` extra) is imported only when the page is built, so ``import tts.web``
and the service work without it.
"""
