"""BatchNorm built twice, in both engines: read it like the paper (Ioffe & Szegedy 2015).

Reading order:

1. ``math``: Algorithms 1 and 2 in NumPy, the hand derivation of the backward, and
   the two fused kernels; running statistics; the input checks both engines share.
2. ``tensor``: the tensor engine's composite version (primitive ops in a name scope),
   its fused op (one ``Function``) and ``batch_norm`` (functional); ``layer``: the
   module, ``BatchNorm1d``.
3. ``scalar``: the same two versions over ``Value`` s, one column at a time, and the
   scalar ``BatchNorm1d``.
4. ``compare``: both versions on one batch, gradients side by side
   (``compare_batchnorm``, ``python -m minigrad bn-compare``).
"""

from minigrad.batchnorm.compare import BatchNormComparison, compare_batchnorm, graph_size

__all__ = ["BatchNormComparison", "compare_batchnorm", "graph_size"]
