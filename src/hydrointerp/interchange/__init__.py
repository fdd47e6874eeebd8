"""Interchange with other hydrology tools: the Caravan layout and neuralhydrology's models."""
