"""The Train page: inputs, the run's state machine, live curves and Stop, results and Keep."""
