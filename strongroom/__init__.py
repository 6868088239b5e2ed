"""strongroom: differentially private language models trained and governed as a Kubeflow pipeline."""

from strongroom.lifetime import die_with_parent
from strongroom.offline import configure_offline

configure_offline()
die_with_parent()  # a component process of a killed local run ends with it

__version__ = "0.1.0"
