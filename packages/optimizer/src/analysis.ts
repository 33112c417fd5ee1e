// Search spaces, samplers, objectives, walk-forward and Monte Carlo: pure functions, no I/O.
export {};
