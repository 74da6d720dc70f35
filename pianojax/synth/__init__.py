"""Synthetic piano data: musical material (notes) and its rendering with FluidSynth SoundFonts."""
