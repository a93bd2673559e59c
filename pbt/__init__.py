"""Population-based training (the paper's appendix F): `experiment.py --pbt_population=N`.

  rules.py       the paper's rules: first hyperparameters, exploit, explore, readiness
  fitness.py     a member's fitness from its episodes.csv
  population.py  the population's files, and the member test mode evaluates
  settings.py    the PBT settings (configuration.py adds them to the runtime's) and their checks
  controller.py  the members' processes, supervised and evolved; pbt.csv
  plot.py        pbt.png
The member's side (hyperparameters as variables of the running learner) is
runtime/hyperparameters.py, which a member's learner runs with the runtime's
`hyperparameter_directives` (settings.py sets it).
"""
