"""Flow-matching TTS recipe: ``FlowModule`` (LightningModule), configs, export."""
