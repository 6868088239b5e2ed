"""DP training planning: which model, batch and steps to train for a budget of people, epsilon
and compute. Pure math and numpy (no torch, no Opacus), so `strongroom plan` answers in well
under a second: rdp.py (accountant), compute.py (FLOPs), law.py (+ law.json: predicted loss),
candidates.py (the grid), planner.py (the choice, its table, config and explanation).
"""
