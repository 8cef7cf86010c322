"""The what-if lab: a day or a week of the agency played offline in seconds, on the routing
engine the daemon uses (routing.engine.route, the same code, not a copy), to compare routing
policies at equal staffing and to find the staffing that meets every goal.

- scenario.py: what is played: the traffic (arrivals per channel and hour, case types,
  languages, handling times, callers' patience) and the staffing (agents with skills,
  languages, capacities and shifts), shipped or read from a file.
- play.py: one run of a scenario under one policy with one seed (a discrete-event
  simulation on the daemon's queues, goals and calendars).
- results.py: the figures of docs/reference/kpi.md per queue and channel, over several
  seeds with confidence intervals.
- staffing.py: the fewest agents per interval that meet every goal, beside Erlang C and A.

No I/O and no clock of its own: the CLI (`contactd whatif`) reads the configuration and the
database and hands the lab plain data.
"""
