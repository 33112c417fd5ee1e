// Search spaces, samplers, objectives, walk-forward and Monte Carlo: pure functions, no I/O.
export * from './monte-carlo';
export * from './objective';
export * from './random';
export * from './report';
export * from './samplers';
export * from './space';
export * from './walk-forward';
