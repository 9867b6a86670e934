"""Vocos vocoder recipe: GAN training of ``vocos`` parts on Lightning, export in the official layout."""
