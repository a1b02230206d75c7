"""The ``naivegrad`` application: the command, and training as the command does it.

- ``cli``: the command's arguments and ``main`` (the console script and ``python -m naivegrad``);
  ``train_command``, ``sample_command`` and ``graph_command`` are its three commands, ``errors`` how they fail
  (exit statuses, one-line messages).
- ``config``: a run's settings (``Config``), their per-dataset defaults and the resume policy.
- ``datasets``, ``models``: the samples, model and optimizer a ``Config`` describes.
- ``runs``: ``Run``, one model on one engine with its optimizer, batch order, step and history.
- ``loop``: ``fit``, the training loop with its progress bar and Ctrl-C handling.
- ``lm``: the language models of ``--dataset names`` (their data layouts, ``LMRun``, losses, sampling).
- ``blas``: one BLAS thread while the language models train.
- ``checkpoint``: the checkpoint file format, written atomically and checked in one place.
- ``plots``: the pictures of a run (matplotlib, optional).
"""
