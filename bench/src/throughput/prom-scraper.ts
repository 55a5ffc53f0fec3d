/**
 * Scrapes express-prom-bundle's `/metrics` every step, as a Prometheus server would (our
 * middleware publishes at the same step), and counts the requests its histogram saw.
 */
export class PromScraper {
  scrapes = 0;
  private readonly timer: NodeJS.Timeout;
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly url: string,
    stepMs: number,
  ) {
    this.timer = setInterval(() => {
      this.inFlight = this.scrape().catch(() => undefined);
    }, stepMs);
  }

  private async scrape(): Promise<string> {
    const res = await fetch(`${this.url}/metrics`);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
    this.scrapes++;
    return text;
  }

  /** Requests in `http_request_duration_seconds_count`, all label sets, scraped now. */
  async finalCount(): Promise<number> {
    this.close();
    await this.inFlight;
    const text = await this.scrape();
    let n = 0;
    for (const line of text.split('\n'))
      if (line.startsWith('http_request_duration_seconds_count'))
        n += Number(line.slice(line.lastIndexOf(' ') + 1));
    return n;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
