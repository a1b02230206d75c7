"""Small runnable examples: ``python -m naivegrad.examples.moons``."""
