"""MaskGCT recipe: masked generative codec model (T2S + S2A) on codec codes."""
