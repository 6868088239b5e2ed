"""MLflow tracking and registry, the model card, the pyfunc that generates."""
