"""MelRVQ codec recipe: a residual VQ over the log-mels of a trained Vocos vocoder."""
