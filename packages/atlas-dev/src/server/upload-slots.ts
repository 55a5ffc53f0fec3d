/**
 * How many request bodies are held in memory at once: each upload takes a slot before its
 * body is read and gives it back once answered; further uploads wait, unread (the socket holds
 * them back), and past `maxQueued` waiting they are turned away.
 */
export class UploadSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(
    slots: number,
    private readonly maxQueued: number,
  ) {
    this.free = slots;
  }

  /**
   * Resolves with the function that gives the slot back (call it once), or returns
   * `undefined` at once when too many uploads already wait.
   */
  acquire(): Promise<() => void> | undefined {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueued) return undefined;
    return new Promise((resolve) => this.waiting.push(() => resolve(this.releaser())));
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next === undefined) this.free++;
      else next();
    };
  }
}
