"""The program's configuration: the runtime's settings and those of the features built on it.

Each setting is declared once, beside the code that reads it: the runtime's in runtime/config.py, the
agent's and the baselines' in baselines/settings.py, population-based training's in pbt/settings.py,
test mode's video in video/settings.py.
Here they become one `Config`, and the features' decisions and checks join the runtime's in
`CONFIGURATION`, the runtime.config.Configuration experiment.py, the benchmarks and the tests use:

    define_flags()   an absl flag for every setting
    given_flags()    {name: value} of the flags given
    with_cluster_settings(given)  those and a cluster task's role from TF_CONFIG or Slurm
    build(**given)   a checked Config, or a ValueError naming the flag
    resolve(given)   the same, with the settings of the run recorded in --logdir (runtime.run_config)
    actor_task(given), join(given, learner)  an actor task's own settings, checked before it
                     connects; its Config once it has its learner's settings (runtime.run_config)
"""
import dataclasses

from baselines import settings as baseline_settings
from pbt import settings as pbt_settings
from runtime import config as config_lib
from runtime import run_config
from video import settings as video_settings


@dataclasses.dataclass(frozen=True)
class Config(video_settings.Settings, pbt_settings.Settings, baseline_settings.Settings,
             config_lib.Config):
  """Everything a run is decided by: the runtime's settings, then the baselines', PBT's and the
  video's."""


CONFIGURATION = config_lib.Configuration(
    Config, atari_preset=baseline_settings.atari_preset,
    resolvers=(baseline_settings.resolve, pbt_settings.resolve, video_settings.resolve))
FIELDS = CONFIGURATION.fields
RUN_SETTINGS = CONFIGURATION.run_settings
define_flags = CONFIGURATION.define_flags
given_flags = CONFIGURATION.given_flags
with_cluster_settings = CONFIGURATION.with_cluster_settings
build = CONFIGURATION.build


def resolve(given):
  """The checked Config for a command that gave the settings `given` ({flag name: value}), with the
  run settings of the run recorded in --logdir, if any (runtime.run_config.resolve)."""
  return run_config.resolve(CONFIGURATION, given)


is_actor_task = run_config.is_actor_task


def actor_task(given):
  """An actor task's own settings, checked before it connects to its learner (runtime.run_config)."""
  return run_config.actor_task(CONFIGURATION, given)


def join(given, learner):
  """An actor task's checked Config, once it has its learner's settings `learner` (runtime.run_config)."""
  return run_config.join(CONFIGURATION, given, learner)
