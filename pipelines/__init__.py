"""The pipeline language, on the ground floor: the configuration model and its validation,
pipeline files, the engine's exact semantics and the simulation of recorded messages. It
imports nothing else of Pepeunit's, so every other part may build on it."""
