import * as stackTrace from "cdktf/lib/tokens/private/stack-trace";

/**
 * cdktf captures a full stack trace for every token and attribute reference it creates (hundreds
 * per bot, one per nested block of every resource), only to print it should that token fail to
 * resolve later. Capturing them cost 8% of a 100-bot synth, and under jest, whose source maps
 * rewrite every frame, a third of the policy tests' time. Botfleet passes plain values, and a
 * resolution error still names the value and its path, so tokens are created without one.
 * cdktf 0.21.0 is its last release (the project is archived): this private module stays as it is.
 */
(stackTrace as { captureStackTrace: typeof stackTrace.captureStackTrace }).captureStackTrace = () => [];
