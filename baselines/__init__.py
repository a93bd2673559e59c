"""The paper's baselines in IMPALA's framework, chosen with experiment.py's `--agent`.

- `a2c`, batched A2C (the paper's Table 1): IMPALA's actors and learner run synchronously; the actor
  threads wait for each update, so every unroll is played with the weights it is trained on, and the
  batch is one unroll from every actor. `--a2c_sync=step` steps all environments together, one
  inference call per step; `--a2c_sync=trajectory` gives each actor its own thread, with
  (`--dynamic_batching`, the default) or without its inference batched across threads. It lives in
  the runtime (`runtime.acting.ActorPool(synchronous=True)`), which settings.py asks for with the
  runtime's `synchronous_actors`.
- `a3c` and the A3C paper's asynchronous value-based methods `one_step_q`, `one_step_sarsa` and
  `n_step_q`: actor-learner threads with local copies of the shared weights (asynchronous.py; the
  value-based targets, loss and exploration in q_learning.py).

settings.py declares `--agent` and the baselines' own settings (configuration.py adds them to the
runtime's), and decides what each baseline sets itself (its batch, its threads, no off-policy
correction, its Atari values), refusing flags that contradict it before any work starts.

All share IMPALA's environments, networks, summaries, checkpoints and test mode. The actor-critic
baselines use IMPALA's loss without off-policy correction: on-policy, V-trace's targets are the
n-step forward-view returns of A3C.
"""
