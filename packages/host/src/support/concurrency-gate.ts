/**
 * A counting semaphore with a bounded wait queue. `acquire` resolves to a
 * release function, or to null when the queue is full or the wait timed out.
 */
export class ConcurrencyGate {
  private active = 0;
  private readonly waiting: Array<(granted: boolean) => void> = [];

  constructor(private readonly limit: number, private readonly queueMax: number, private readonly waitMsMax: number) {}

  get inFlight(): number {
    return this.active;
  }

  acquire(): Promise<(() => void) | null> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.queueMax) return Promise.resolve(null);
    return new Promise((resolve) => {
      const grant = (granted: boolean) => {
        clearTimeout(timer);
        resolve(granted ? this.releaser() : null);
      };
      const timer = setTimeout(() => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        grant(false);
      }, this.waitMsMax);
      this.waiting.push(grant);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` does not change.
      if (next) next(true);
      else this.active--;
    };
  }
}
