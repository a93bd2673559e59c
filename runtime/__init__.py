"""The IMPALA runtime: everything experiment.py runs, one job a module. It knows no feature built on
it: baselines/ and pbt/ import it, add their settings to its own (configuration.py) and decide, in
its terms, what it does for them (runtime/config.py).

How data flows in training:

    environments (processes) --steps--> actors (acting.py: threads, batched inference)
        --unrolls--> trajectory queue (trajectories.py) --batches--> prefetch (prefetch.py,
        mixing in replay.py's buffer) --> learner (learner.py, losses.py; training_loop.py)
        --weights--> actors (cluster.py, learner_link.py: shared by name, across machines)

Modules, roughly in that order:
  fields.py         how a setting is declared (a dataclass field with its flag's help and check)
  config.py         the runtime's settings, each once: its Config, their flags and checks
  presets.py        the paper's Atari settings, for those not given
  run_config.py     the configuration a run records in its logdir; test mode and resume read it
  levels.py         the levels actors and test mode play (one, a list, DMLab-30 or Atari-57)
  agents.py         the configured network, and an actor's initial core state
  acting.py         environment processes, actors, their batched inference, the actor pool
  dynamic_batching.py  batching inference requests from several threads into one call
  trajectories.py   unrolls, their signatures, the trajectory queue, time-major batches
  prefetch.py       batches taken off the queue one ahead of the learner (the StagingArea's role)
  replay.py         experience replay: a FIFO buffer of unrolls, sampled uniformly
  losses.py         the V-trace actor-critic loss
  popart.py         PopArt (--popart): its settings, each task's statistics, the normalised update
  learner.py        optimiser, annealed learning rate, frame counter, checkpoints
  hyperparameters.py  what PBT evolves, as variables of the running learner; a member's decisions
  replicas.py       one learner over several devices (tf.distribute)
  training_loop.py  the learner's loop: train, report, checkpoint
  progress.py       episodes and summaries to TensorBoard, episodes.csv and the console; stopping
  arrivals.py       which actors' unrolls arrive, which fell silent, and what faults lost between
  curves.py         learning_curve.png, redrawn as the run trains
  one_machine.py    train on this machine
  cluster.py        the learner and actor tasks over TensorFlow's distributed runtime
  learner_link.py   what the learner shares with actor tasks (run, weights), and reaching it
  schedulers.py     a cluster task's role and addresses from TF_CONFIG (Kubernetes) or Slurm
  local_cluster.py  --local_cluster: those tasks as processes of this machine, supervised
  supervision.py    programs started by this one (tasks, PBT members) end with it, even if it is killed
  evaluation.py     test mode (video/ may record its episodes)
"""
