"""The Atari emulator's colour screen, for the video only: training never asks for it.

A recording test builds its environments with `create_environment` (in their processes), which adds
the observation 'screen' to those that have one to show (`colour_screen()`: Atari's); DeepMind Lab's
and the synthetic level's frames are in colour already and pass unchanged. The agent's inference
never sees it (`WithoutScreens`), so that it plays exactly as it does unrecorded.
"""
import functools

SCREEN = 'screen'


class WithScreen:
  """An environment whose observations also hold its colour screen, as `SCREEN`."""

  def __init__(self, environment):
    self._environment = environment
    self.spec = environment.spec

  def _with_screen(self, output):
    return output._replace(observation={**output.observation,
                                        SCREEN: self._environment.colour_screen()})

  def initial(self):
    return self._with_screen(self._environment.initial())

  def step(self, action):
    return self._with_screen(self._environment.step(action))

  def close(self):
    self._environment.close()


def create_environment(factory, **kwargs):
  """`factory(**kwargs)`, with its colour screen in the observations where it has one."""
  environment = factory(**kwargs)
  return WithScreen(environment) if hasattr(environment, 'colour_screen') else environment


def environments(factory):
  """The environment factory a recording test plays: `factory`'s environments with their screens
  (picklable, as environment processes need, when `factory` is)."""
  return functools.partial(create_environment, factory)


class WithoutScreens:
  """An actor inference (runtime.acting.make_inference's) that takes observations with screens: it
  passes them on without, as the agent's signature has them."""

  def __init__(self, inference):
    self._inference = inference

  def __call__(self, inputs):
    last_action, env_output, core_state = inputs
    observation = {key: value for key, value in env_output.observation.items() if key != SCREEN}
    return self._inference((last_action, env_output._replace(observation=observation), core_state))

  def close(self):
    self._inference.close()
