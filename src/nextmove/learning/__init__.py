"""Learning: response and uplift models, fitted on logged decisions and their outcomes."""
