"""VALL-E recipe: ``tts train valle --config tiny|libritts_gpu`` (module.py, data.py, export.py)."""
