// Server-sent events over fetch(). A browser's EventSource cannot send the API key header, so the stream is
// read with fetch and a ReadableStream, and its frames parsed here (the text/event-stream format).
import { credentials, failure, headers } from './api.js';

/**
 * Reads an event stream until it ends or `signal` aborts. Calls onOpen() once the answer is 200, and
 * onEvent({ id, event, data }) for each event (comments are skipped). Throws an ApiError if the server refuses.
 */
export async function readEvents(url, { signal, onOpen, onEvent }) {
  const response = await fetch(url, { headers: headers(undefined, { Accept: 'text/event-stream' }), signal, cache: 'no-store', credentials: credentials() });
  if (!response.ok) throw await failure(response);
  onOpen?.();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let fields = { data: [] };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop(); // an incomplete last line waits for the next chunk
      for (const line of lines) {
        if (line === '') {
          if (fields.data.length > 0) onEvent({ id: fields.id, event: fields.event || 'message', data: fields.data.join('\n') });
          fields = { data: [] };
          continue;
        }
        if (line.startsWith(':')) continue; // a comment: keep-alive
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? '' : line.slice(colon + 1);
        if (v.startsWith(' ')) v = v.slice(1);
        if (name === 'data') fields.data.push(v);
        else if (name === 'id' || name === 'event') fields[name] = v;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
