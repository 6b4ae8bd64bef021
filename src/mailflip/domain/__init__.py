"""Pure core: order model, statuses, validation and the planner.

Imports nothing from the rest of mailflip, never reads the clock or random:
`now` and ids are arguments (a test keeps this true).
"""
