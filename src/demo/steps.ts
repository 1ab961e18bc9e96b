/**
 * Runs the demo as named steps: each prints a header, its progress lines and its duration, and
 * the durations feed the final summary.
 */
export interface StepRecord {
  name: string;
  seconds: number;
}

export interface DemoOutput {
  /** A line of progress (stderr for humans). */
  progress(line: string): void;
  /** A block of content the user should read (stdout), e.g. the rendered PR body. */
  show(text: string): void;
}

export class StepRunner {
  readonly records: StepRecord[] = [];
  private readonly started = performance.now();

  constructor(private readonly out: DemoOutput) {}

  async step<T>(name: string, fn: (progress: (line: string) => void) => Promise<T>): Promise<T> {
    const index = this.records.length + 1;
    this.out.progress(`\n[${index}] ${name}`);
    const started = performance.now();
    const result = await fn((line) => this.out.progress(`    ${line}`));
    const seconds = (performance.now() - started) / 1000;
    this.records.push({ name, seconds });
    this.out.progress(`    done in ${seconds.toFixed(1)}s (total ${this.totalSeconds().toFixed(0)}s)`);
    return result;
  }

  totalSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }
}
