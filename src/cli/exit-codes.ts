/** What a sparsekit process's exit status means, so scripts can branch on it. */
export const EXIT = {
  ok: 0,
  /** An unexpected failure: a bug; the message asks for a report. */
  internal: 1,
  /** The command line itself was wrong: unknown command or option, missing argument. */
  usage: 2,
  /** The input was wrong: a malformed file, impossible shapes or sparsity, an unknown method name. */
  input: 3,
} as const;
