"""strongroom: differentially private language models trained and governed as a Kubeflow pipeline."""

from strongroom.offline import configure_offline

configure_offline()

__version__ = "0.1.0"
