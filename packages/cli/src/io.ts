/** Where a command writes: injectable so tests can run commands in-process and read what they print. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stdout is an interactive terminal (progress bars); false in tests and pipes. */
  isTTY: boolean;
}

export const processIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stdout.isTTY),
};

/**
 * SIGINT / SIGTERM during a command (main.ts installs the handlers). By default a signal removes the
 * temps of every write in flight and exits at once (130 / 143): every output goes through
 * @aekit/data's atomic writers, so nothing half-written can remain. A command that can stop
 * gracefully (train: finish the chunk of batches, save the last complete epoch) registers `stop` with
 * onInterrupt; a second signal then takes the immediate path.
 */
export interface InterruptState {
  /** The first signal received during this command, if any. */
  signal?: NodeJS.Signals;
  /** Signals received during this command. */
  count: number;
  stop?: (signal: NodeJS.Signals) => void;
  /** What the immediate exit after a graceful stop abandons (e.g. "the current epoch is not saved"). */
  hardExitNote?: string;
}

export const interrupts: InterruptState = { count: 0 };

/** Registers a graceful stop for SIGINT / SIGTERM; returns the function that unregisters it. */
export function onInterrupt(stop: (signal: NodeJS.Signals) => void, hardExitNote: string): () => void {
  interrupts.stop = stop;
  interrupts.hardExitNote = hardExitNote;
  return () => {
    if (interrupts.stop === stop) {
      delete interrupts.stop;
      delete interrupts.hardExitNote;
    }
  };
}

/** @aekit/data's CSV options from --header / --no-header (undefined: auto), warnings to stderr. */
export function csvOptions(header: boolean | undefined, io: CliIO): { header: boolean | 'auto'; onWarning: (message: string) => void } {
  return { header: header ?? 'auto', onWarning: (m) => io.stderr(`aekit: warning: ${m}\n`) };
}
