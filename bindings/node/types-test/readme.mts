// The TypeScript snippet of README.md, verbatim (test/readme.test.js checks they match).
import { SessionStore, NotFoundError, type Session, type StoredSession } from 'sessionstore';

interface ChatSession extends Session {
  agent_id: string;
  memory?: { runs: { input: string; output: string }[] };
}

using store = new SessionStore({ mode: 'agent' });
const stored: StoredSession = store.upsert({ session_id: 'c1', agent_id: 'helper' });
const chat = store.read<ChatSession>('c1'); // ChatSession | null
const page = store.query({ sessionName: 'trip', sortBy: 'updated_at', limit: 20 }); // { sessions, total }
console.log(stored.created_at, chat?.memory?.runs.length ?? 0, page.total);
try {
  store.renameSession('missing', 'x');
} catch (e) {
  if (e instanceof NotFoundError) console.log(e.code, e.status); // 'NOT_FOUND' 1
}
