"""CNN-LSTM models, Keras import and ensembles."""
