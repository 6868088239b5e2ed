"""KFP components: one thin wrapper per stage. Heavy imports live inside each function body.

The container image holds strongroom and its dependencies (kfp included), so no component installs
anything at run time: clusters in hospitals and banks have no internet access.
"""

import os

# The image every component runs in on Kubeflow; the kfp local runner ignores it.
BASE_IMAGE = os.environ.get("STRONGROOM_IMAGE", "strongroom:0.1.0")
