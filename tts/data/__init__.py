"""Corpora as lhotse manifests: TinyVoices (synthesized offline), real corpora from a
local folder (LibriTTS, LibriTTS-R, LJSpeech, VCTK, any folder), feature extraction,
and the padded batches the training recipes consume.

Every prepared corpus folder holds ``cuts_<split>.jsonl.gz`` (plus the recordings and
supervisions it was built from); see :mod:`tts.data.manifests`.
"""
