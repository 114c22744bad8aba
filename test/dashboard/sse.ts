/** One server-sent event: its name and its data, parsed as JSON. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/** The server-sent events of an open response, read on demand. */
export function sse(response: Response) {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let buffer = '';
  let ended = false;
  return {
    events,
    /** Reads until `until(events)` holds or the stream ends; resolves whether it ended. */
    async until(until: (seen: SseEvent[]) => boolean): Promise<boolean> {
      while (!ended && !until(events)) {
        const { value, done } = await reader.read();
        if (done) ended = true;
        else buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ event, data: JSON.parse(data.join('\n')) });
        }
      }
      return ended;
    },
  };
}
