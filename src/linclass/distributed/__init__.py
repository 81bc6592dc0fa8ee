"""Growing past one machine's memory and one machine: training from disk, block by block, and on a cluster.

* **Data larger than memory** (NumPy only): :mod:`linclass.distributed.shards` streams ``.npy`` shards and
  memory maps in contiguous blocks.
* **Training on a Dask cluster** (the ``dask`` extra, ``pip install linclass[dask]``):
  :mod:`linclass.distributed.cluster`. ``LinearClassifier().fit(X, y)`` on dask arrays trains
  data-parallel on the workers of the current ``distributed.Client``, averaging gradients or parameters
  every ``sync_every`` steps; ``linclass train --cluster local:N|tcp://host:8786`` does it from the
  command line.

Nothing is imported here, so that ``import linclass`` stays NumPy-only: dask is imported by the modules
that use it, when they are used.
"""
