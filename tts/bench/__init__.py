"""Speed benchmarks behind ``tts bench`` and ``make bench``."""
