"""KFP components: one thin wrapper per stage. Heavy imports live inside each function body.

The container image holds strongroom and its dependencies (kfp included), so no component installs
anything at run time: clusters in hospitals and banks have no internet access.
"""

import os

# The images the compiled pipeline runs in (images/; `make images` builds both); the kfp local
# runner ignores them. `strongroom compile --image REF@sha256:...` sets every task's image, and
# pipelines/cluster_settings.py is where a site's settings override these defaults.
BASE_IMAGE = os.environ.get("STRONGROOM_IMAGE", "strongroom-cpu:0.1.0")
CUDA_IMAGE = os.environ.get("STRONGROOM_CUDA_IMAGE", "strongroom-cuda:0.1.0")  # train on GPUs
