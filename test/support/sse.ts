import http from 'node:http';

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** A minimal SSE client for tests: collects events until closed. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<{ events: SseEvent[]; next(match: (event: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>; close(): void }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const watchers: { match: (event: SseEvent) => boolean; resolve(event: SseEvent): void }[] = [];
    const request = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (response) => {
      if (response.statusCode !== 200) return reject(new Error(`SSE answered ${response.statusCode}`));
      let buffer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = { data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const [field, ...rest] = line.split(': ');
            const value = rest.join(': ');
            if (field === 'id') event.id = value;
            else if (field === 'event') event.event = value;
            else if (field === 'data') event.data += value;
          }
          if (!event.event && !event.data) continue;
          events.push(event);
          for (const watcher of [...watchers]) {
            if (watcher.match(event)) {
              watchers.splice(watchers.indexOf(watcher), 1);
              watcher.resolve(event);
            }
          }
        }
      });
      resolve({
        events,
        next(match, timeoutMs = 5_000) {
          const seen = events.find(match);
          if (seen) return Promise.resolve(seen);
          return new Promise((resolveNext, rejectNext) => {
            const timer = setTimeout(() => rejectNext(new Error('no matching SSE event in time')), timeoutMs);
            watchers.push({ match, resolve: (event) => (clearTimeout(timer), resolveNext(event)) });
          });
        },
        close: () => request.destroy(),
      });
    });
    request.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(error);
    });
  });
}
